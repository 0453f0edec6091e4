// The back office (后台分类审批): a department's cases, most urgent first,
// each moved on with one button (and a note where the rules want one);
// refreshed whenever the staff stream says a case changed. The pick-up
// window's clerk finds a case by its code, hands it over or posts it.
"use strict";

const $ = (id) => document.getElementById(id);
const PAGE_HALL = (location.pathname.match(/^\/h\/([^/]+)\//) || [])[1];
const BASE = PAGE_HALL ? `/h/${PAGE_HALL}` : "";
let hall = null;
let me = null;
let pickupWindow = null;

// What each state allows, with the button's words; `note` marks a
// required note (补正 says what is missing, a refusal says why).
const ACTIONS = {
  accepted: [["review", "开始审查 Review"], ["need_material", "要求补正 Need material", "note"], ["approve", "批准 Approve"], ["refuse", "不予批准 Refuse", "note"]],
  in_review: [["need_material", "要求补正 Need material", "note"], ["approve", "批准 Approve"], ["refuse", "不予批准 Refuse", "note"]],
  needs_material: [["supplied", "材料已补齐 Material in"]],
  decided: [["ready", "送窗口待取 Ready for pick-up"], ["express", "邮寄 Send by post", "express"]],
  ready: [["express", "改为邮寄 Send by post", "express"]],
  delivered: [],
};

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function banner(text) {
  const b = $("banner");
  b.textContent = text;
  b.hidden = !text;
}

function days(c) {
  const used = `${c.used_days}/${c.limit_days}`;
  if (c.days_left === null) return c.state === "needs_material" ? `${used}（停表 clock stopped）` : used;
  return c.days_left < 0 ? `${used}（逾期 ${-c.days_left} late）` : `${used}（剩 ${c.days_left} left）`;
}

// The buttons a role has for a case in its state: the back office decides,
// the pick-up window's clerk hands out and posts, a manager does both.
function actionsFor(c) {
  const all = ACTIONS[c.state] || [];
  if (me.role === "clerk" || me.role === "manager") {
    const extra = [];
    if (c.state === "ready" && pickupWindow) extra.push(["deliver", "已当面交付 Handed over"]);
    if (me.role === "clerk") {
      const post = ["decided", "ready"].includes(c.state) ? [["express", "邮寄 Send by post", "express"]] : [];
      return [...extra, ...post];
    }
    return [...all, ...extra];
  }
  return all;
}

// One case as a table row, with its buttons.
function caseRow(c) {
  const tr = el("tr");
  tr.dataset.case = c.code;
  if (c.card) tr.classList.add(c.card);
  const code = el("td");
  code.append(el("b", c.code));
  if (c.card) code.append(" ", el("span", c.card === "red" ? "红牌" : "黄牌", `card ${c.card}`));
  if (c.deemed) code.append(" ", el("span", "超时默许", "muted"));
  tr.append(code);
  tr.append(el("td", `${c.service_name}${c.department_name ? " · " + c.department_name : ""}`));
  tr.append(el("td", `${c.accepted_date} ${c.window_name}${c.clerk ? " " + c.clerk : ""} (${c.number})`));
  const decided = c.approved === null ? "" : c.approved ? "（批准 approved）" : "（不予批准 refused）";
  tr.append(el("td", `${c.state_name}${decided}`, "state"));
  tr.append(el("td", days(c), c.late ? "red" : ""));
  tr.append(el("td", c.due_date || "–"));
  const note = c.delivery && c.delivery.by === "express" ? `${c.delivery.carrier} ${c.delivery.tracking}` : c.reason || "";
  tr.append(el("td", note));
  const acts = el("td", undefined, "act");
  for (const [action, label, kind] of actionsFor(c)) {
    const b = el("button", label);
    b.type = "button";
    b.dataset.action = action;
    b.onclick = () => change(c, action, label, kind);
    acts.append(b);
  }
  tr.append(acts);
  return tr;
}

async function find(ev) {
  if (ev) ev.preventDefault();
  const code = $("find-code").value.trim();
  const err = $("find-error");
  err.hidden = true;
  if (!code) { $("found").hidden = true; return; }
  const r = await fetch(`/api/v1/halls/${hall}/cases/${encodeURIComponent(code)}`);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) {
    $("found").hidden = true;
    err.textContent = (body.error && body.error.message) || `${r.status}`;
    err.hidden = false;
    return;
  }
  const tbody = $("found").querySelector("tbody");
  tbody.replaceChildren(caseRow(body));
  $("found").hidden = false;
}

function render(body) {
  const tbody = $("report").querySelector("tbody");
  tbody.replaceChildren();
  for (const f of body.report) {
    const tr = el("tr");
    const pct = f.on_time_percent === null ? "–" : `${f.on_time_percent}%`;
    for (const v of [f.department_name, f.accepted, f.open, f.yellow_open, f.red_open, f.decided, pct, f.late, f.avg_days ?? "–"]) {
      tr.append(el("td", String(v)));
    }
    tbody.append(tr);
  }
  const rows = $("cases").querySelector("tbody");
  rows.replaceChildren();
  $("empty").hidden = body.cases.length > 0;
  for (const c of body.cases) rows.append(caseRow(c));
}

async function load() {
  if (!$("found").hidden) find();
  if (me.role === "clerk") return; // the pick-up window finds cases by code
  const q = new URLSearchParams();
  if ($("department").value) q.set("department", $("department").value);
  if ($("all").checked) q.set("all", "true");
  const r = await fetch(`/api/v1/halls/${hall}/cases?${q}`);
  if (r.status === 401) { location.href = `${BASE}/manager/login`; return; }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { banner((body.error && body.error.message) || `无法读取 / cannot load (${r.status})`); return; }
  banner("");
  render(body);
}

// One change: asks for the note (or carrier and tracking) where needed.
function change(c, action, label, kind) {
  const d = $("change");
  $("change-title").textContent = `${c.code} ${c.service_name}：${label}`;
  $("note-row").hidden = kind === "express";
  $("express-row").hidden = kind !== "express";
  $("change-note").value = "";
  $("change-note").required = kind === "note";
  $("change-tracking").value = "";
  $("change-error").hidden = true;
  $("change-cancel").onclick = () => d.close();
  $("change-form").onsubmit = async (ev) => {
    ev.preventDefault();
    const body = { action, note: $("change-note").value.trim() };
    if (kind === "express") {
      body.carrier = $("change-carrier").value.trim();
      body.tracking = $("change-tracking").value.trim();
    }
    if (action === "deliver") body.window = pickupWindow;
    const r = await fetch(`/api/v1/halls/${hall}/cases/${encodeURIComponent(c.code)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (r.ok) { d.close(); load(); return; }
    const e = await r.json().catch(() => ({}));
    $("change-error").textContent = (e.error && e.error.message) || `未办理 / not done (${r.status})`;
    $("change-error").hidden = false;
  };
  d.showModal();
}

let pending = null;
function soon() {
  clearTimeout(pending);
  pending = setTimeout(load, 250);
}

// A case changed (or a new day may have given cards): read again.
function follow() {
  followStaff(hall, (msg) => {
    if (msg.type === "event" && (msg.data.type.startsWith("case_") || msg.data.type === "day_started")) soon();
  });
}

async function start() {
  const r = await fetch("/api/v1/me");
  if (r.status === 401) { location.href = `${BASE}/manager/login`; return; }
  me = await r.json();
  hall = PAGE_HALL || me.hall;
  const roles = { department: "审批人员 back office", manager: "值班经理 manager", supervisor: "督查 supervisor", clerk: "窗口人员 clerk" };
  $("me").textContent = `${me.name}（${roles[me.role] || me.role}）`;
  const snap = await (await fetch(`/api/v1/halls/${hall}`)).json().catch(() => null);
  if (snap) $("hall-name").textContent = snap.name;
  pickupWindow = snap && snap.pickup_window;
  $("find-form").onsubmit = find;
  if (me.role === "clerk") {
    $("report-section").hidden = true;
    $("list-section").hidden = true;
    $("department").parentElement.hidden = true;
    $("all").parentElement.hidden = true;
  }
  const select = $("department");
  for (const d of (snap && snap.departments) || []) {
    const o = el("option", d.name);
    o.value = d.id;
    select.append(o);
  }
  if (me.department) {
    select.value = me.department;
    select.disabled = true;
  }
  select.onchange = load;
  $("all").onchange = load;
  $("logout").onclick = async () => {
    await fetch("/api/v1/logout", { method: "POST" });
    location.href = `${BASE}/manager/login`;
  };
  await load();
  if (me.role === "clerk") {
    $("live").hidden = true; // a clerk has no staff stream: looks a case up when asked
    return;
  }
  follow();
}

start();
