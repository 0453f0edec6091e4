// The hall manager's dashboard: the hall's data from /dashboard, refreshed
// whenever the WebSocket stream says something happened (no polling);
// actions confirmed, sent with the seq the manager saw, refused ones shown.
"use strict";

const $ = (id) => document.getElementById(id);
// On a server with several halls the pages are under /h/{hall}/.
const PAGE_HALL = (location.pathname.match(/^\/h\/([^/]+)\//) || [])[1];
const BASE = PAGE_HALL ? `/h/${PAGE_HALL}` : "";
let hall = null;
let data = null;
let me = null;
let charts = {};

const STATUS = {
  closed: "关闭 closed",
  idle: "空闲 idle",
  calling: "叫号中 calling",
  serving: "办理中 serving",
  paused: "暂停 paused",
};
const POLICY = { longest_wait: "等候最久 longest wait", strict: "顺序 strict", weighted: "权重 weighted" };

function mmss(s) {
  if (s === null || s === undefined) return "–";
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}` : `${m}:${String(s % 60).padStart(2, "0")}`;
}
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function row(cells) {
  const tr = el("tr");
  for (const c of cells) {
    const td = el("td");
    if (c instanceof Node) td.append(c); else td.textContent = c === null || c === undefined ? "–" : String(c);
    tr.append(td);
  }
  return tr;
}
function banner(text, ok) {
  const b = $("banner");
  b.textContent = text;
  b.className = ok ? "banner ok" : "banner";
  b.hidden = false;
  clearTimeout(banner.t);
  banner.t = setTimeout(() => (b.hidden = true), ok ? 4000 : 10000);
}

function ask(text) {
  return new Promise((resolve) => {
    const d = $("confirm");
    $("confirm-text").textContent = text;
    const done = (v) => () => { d.close(); resolve(v); };
    $("confirm-ok").onclick = done(true);
    $("confirm-cancel").onclick = done(false);
    d.showModal();
  });
}

async function act(body, what) {
  if (!(await ask(what))) return;
  const r = await fetch(`/api/v1/halls/${hall}/manage`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (r.ok) {
    banner(`已办 / done: ${what}`, true);
  } else {
    const e = await r.json().catch(() => ({}));
    banner((e.error && e.error.message) || `失败 / failed (${r.status})`);
  }
  await load();
}

function renderTotals(d) {
  const t = $("totals");
  t.replaceChildren();
  const waiting = d.services.reduce((n, s) => n + s.waiting, 0);
  const issued = d.services.reduce((n, s) => n + s.issued_today, 0);
  const served = d.windows.reduce((n, w) => n + w.served_today, 0);
  const open = d.windows.filter((w) => w.status !== "closed").length;
  for (const [zh, en, v, cls] of [
    ["等候", "waiting", waiting, ""],
    ["今日取号", "issued today", issued, ""],
    ["今日办结", "served today", served, ""],
    ["开放窗口", "windows open", `${open}/${d.windows.length}`, ""],
    ["黄牌", "yellow cards today", d.yellow_today, "yellow"],
    ["红牌", "red cards today", d.red_today, "red"],
  ]) {
    const box = el("div", null, `total ${cls}`);
    box.append(el("b", v), el("span", zh), el("span", en, "en"));
    t.append(box);
  }
}

function renderServices(d) {
  const tb = $("services").tBodies[0];
  tb.replaceChildren();
  for (const s of d.services) {
    const cards = el("span");
    if (s.yellow) cards.append(el("span", `${s.yellow}`, "card yellow"));
    if (s.red) cards.append(el("span", `${s.red}`, "card red"));
    const move = el("span", null, "act");
    const sel = el("select");
    sel.setAttribute("aria-label", `move ${s.service} to`);
    for (const o of d.services) if (o.service !== s.service) {
      const opt = el("option", o.name);
      opt.value = o.service;
      sel.append(opt);
    }
    const b = el("button", "转移 Move");
    b.type = "button";
    b.disabled = s.waiting === 0;
    b.onclick = () => {
      const to = d.services.find((o) => o.service === sel.value);
      act({ action: "move_queue", from: s.service, to: sel.value },
        `把「${s.name}」的 ${s.waiting} 位等候转到「${to ? to.name : sel.value}」 / move ${s.waiting} waiting from ${s.service} to ${sel.value}`);
    };
    move.append(sel, b);
    const tr = row([
      s.name, s.waiting, mmss(s.longest_wait_s),
      `${mmss(s.avg_wait_30m_s)} / ${mmss(s.avg_wait_60m_s)}`,
      `${mmss(s.p90_wait_30m_s)} / ${mmss(s.p90_wait_60m_s)}`,
      mmss(s.estimate_s), s.arrivals_last_hour, s.windows_open, cards, move,
    ]);
    tr.dataset.service = s.service;
    if (s.red) tr.className = "red";
    else if (s.yellow) tr.className = "yellow";
    tb.append(tr);
  }
}

function serviceName(id) {
  const s = data.services.find((x) => x.service === id);
  return s ? s.name : id;
}

function renderWindows(d) {
  const tb = $("windows").tBodies[0];
  tb.replaceChildren();
  for (const w of d.windows) {
    const acts = el("span", null, "act");
    const openClose = el("button", w.status === "closed" ? "开窗 Open" : "关窗 Close");
    openClose.type = "button";
    openClose.className = "open-close";
    openClose.onclick = () => w.status === "closed"
      ? act({ action: "open", window: w.window, seen: w.seq }, `开放${w.name} / open window ${w.window}`)
      : act({ action: "close", window: w.window, seen: w.seq }, `关闭${w.name} / close window ${w.window}`);
    const edit = el("button", "配置 Profile");
    edit.type = "button";
    edit.className = "edit-profile";
    edit.onclick = () => editProfile(w);
    acts.append(openClose, edit);
    const serves = `${w.serves.map(serviceName).join("、")} · ${POLICY[w.policy] || w.policy}`;
    const tr = row([
      w.name, STATUS[w.status] || w.status, w.clerk, w.ticket,
      w.ticket_s === null ? null : mmss(w.ticket_s), w.served_today,
      w.utilisation === null ? null : `${Math.round(w.utilisation * 100)}%`,
      mmss(w.avg_service_s), serves, acts,
    ]);
    tr.dataset.window = w.window;
    tr.className = `st-${w.status}`;
    tb.append(tr);
  }
}

function editProfile(w) {
  const d = $("profile");
  $("profile-window").textContent = w.name;
  const box = $("profile-services");
  box.replaceChildren();
  for (const s of data.services) {
    const label = el("label");
    const cb = el("input");
    cb.type = "checkbox";
    cb.value = s.service;
    cb.checked = w.serves.includes(s.service);
    const weight = el("input");
    weight.type = "number";
    weight.min = "1";
    weight.className = "weight";
    const i = w.serves.indexOf(s.service);
    weight.value = i >= 0 && w.weights[i] ? w.weights[i] : 1;
    label.append(cb, ` ${s.name} `, weight);
    box.append(label);
  }
  $("profile-policy").value = w.policy;
  $("profile-cancel").onclick = () => d.close();
  $("profile-save").onclick = () => {
    const chosen = [...box.querySelectorAll("label")].filter((l) => l.querySelector("input[type=checkbox]").checked);
    const serves = chosen.map((l) => l.querySelector("input[type=checkbox]").value);
    const policy = $("profile-policy").value;
    const weights = policy === "weighted" ? chosen.map((l) => Number(l.querySelector(".weight").value)) : [];
    d.close();
    act({ action: "profile", window: w.window, serves, policy, weights, seen: w.seq },
      `${w.name} 改为办理：${serves.map(serviceName).join("、")}（${POLICY[policy]}） / window ${w.window} serves ${serves.join(", ")}`);
  };
  d.showModal();
}

function renderCards(d) {
  const ul = $("cards");
  ul.replaceChildren();
  if (!d.cards.length) ul.append(el("li", "无 / none", "muted"));
  for (const c of d.cards) {
    const kind = c.kind === "wait" ? "等候超时 long wait" : "办理超时 long service";
    const who = c.window ? ` · ${c.window}号窗口${c.clerk ? " " + c.clerk : ""}` : "";
    ul.append(el("li", `${c.level === "red" ? "红牌 RED" : "黄牌 yellow"} ${c.ticket} ${serviceName(c.service)} · ${kind}${who}`, `card-line ${c.level}`));
  }
}

// 限时办结: cases behind the counter — on-time share per department and
// the cases holding a yellow or a red card.
function renderCases(d) {
  const box = $("cases");
  box.hidden = !d.cases.length;
  if (!d.cases.length) return;
  const tbody = $("case-report").querySelector("tbody");
  tbody.replaceChildren();
  for (const f of d.cases) {
    const tr = el("tr");
    const pct = f.on_time_percent === null ? "–" : `${f.on_time_percent}%`;
    for (const v of [f.department_name, f.open, f.yellow_open, f.red_open, f.decided, pct, f.avg_days ?? "–", f.deemed]) {
      tr.append(el("td", String(v)));
    }
    if (f.red_open) tr.classList.add("red");
    tbody.append(tr);
  }
  const ul = $("case-cards");
  ul.replaceChildren();
  if (!d.case_cards.length) ul.append(el("li", "无 / none", "muted"));
  for (const c of d.case_cards) {
    const left = c.days_left === null ? "" : c.days_left < 0 ? ` · 逾期 ${-c.days_left} 个工作日 late` : ` · 剩 ${c.days_left} 个工作日 left`;
    ul.append(el("li",
      `${c.card === "red" ? "红牌 RED" : "黄牌 yellow"} ${c.code} ${c.service_name} · ${c.department_name || ""} · ${c.state_name} · 已用 ${c.used_days}/${c.limit_days} 工作日${left} · 受理 ${c.window_name}${c.clerk ? " " + c.clerk : ""}`,
      `card-line ${c.card}`));
  }
}

function renderDevices(d) {
  const ul = $("devices");
  ul.replaceChildren();
  const entries = Object.entries(d.devices || {});
  if (!entries.length) ul.append(el("li", "尚无设备上报 / no device has reported yet", "muted"));
  entries.sort(([a, x], [b, y]) => (x.online === y.online ? a.localeCompare(b) : x.online ? 1 : -1));
  for (const [id, s] of entries) {
    ul.append(el("li", `${s.online ? "在线 online" : "离线 OFFLINE"} · ${id} (${s.role}${s.window ? " " + s.window : ""})`, s.online ? "" : "offline"));
  }
}

function renderCharts(d) {
  if (!window.uPlot) return;
  const xs = d.series.at_ms.map((t) => t / 1000);
  const x0 = xs.length ? xs[0] : d.at_ms / 1000 - 3600;
  const x1 = Math.max(d.at_ms / 1000, x0 + 3600);
  const make = (id, label, ys, color) => {
    const target = $(id);
    const width = Math.max(300, target.clientWidth || 500);
    const opts = {
      width, height: 180,
      // The day so far, at least an hour wide (one point is not a year).
      scales: { x: { time: true, auto: false, range: [x0, x1] } },
      series: [{}, { label, stroke: color, width: 2, spanGaps: true, points: { show: true } }],
      axes: [{}, {}],
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
    if (charts[id]) charts[id].destroy();
    charts[id] = new uPlot(opts, [xs, ys], target);
  };
  make("chart-waiting", "等候 waiting", d.series.waiting, "#c0392b");
  make("chart-wait", "平均等候 avg wait (min)", d.series.avg_wait_s.map((s) => (s === null ? null : Math.round(s / 6) / 10)), "#1f6feb");
}

// The advisor's word: one change to one window, with what the hall's
// simulation predicts; taken with one click (an ordinary profile change,
// refused as stale if the window changed since the advice).
function renderAdvice(d) {
  const a = d.advice;
  const w = a && d.windows.find((x) => x.window === a.change.window);
  const box = $("advice");
  if (!a || !w || w.seq !== a.seen) { box.hidden = true; return; }
  box.hidden = false;
  $("advice-text").textContent = a.text;
  const per = Object.entries(a.per_service)
    .map(([s, [now, withIt]]) => `${serviceName(s)} ${(now / 60).toFixed(1)} → ${(withIt / 60).toFixed(1)}`)
    .join(" · ");
  $("advice-detail").textContent =
    `平均等候 mean wait ${(a.mean_wait_now_s / 60).toFixed(1)} → ${(a.mean_wait_with_s / 60).toFixed(1)} 分钟 min（未来 next ${a.horizon_min} 分钟 min）: ${per}`;
  const take = $("advice-take");
  take.hidden = a.change.open;
  take.onclick = () => act({
    action: "profile",
    window: a.change.window,
    serves: a.change.serves,
    policy: a.change.policy,
    weights: a.change.weights,
    seen: a.seen,
  }, a.text);
}

function render(d) {
  data = d;
  $("hall-name").textContent = d.name;
  document.title = `${d.name} · 值班经理看板`;
  renderTotals(d);
  renderAdvice(d);
  renderServices(d);
  renderWindows(d);
  renderCards(d);
  renderCases(d);
  renderDevices(d);
  renderCharts(d);
  $("notice-now").textContent = d.notice.text || "（无 / none）";
}

async function load() {
  const r = await fetch(`/api/v1/halls/${hall}/dashboard`);
  if (r.status === 401) { location.href = `${BASE}/manager/login`; return; }
  if (!r.ok) { banner(`无法读取 / cannot load (${r.status})`); return; }
  render(await r.json());
}

let pending = null;
function soon() {
  clearTimeout(pending);
  pending = setTimeout(load, 250);
}

function addEvent(text) {
  const ol = $("events");
  ol.prepend(el("li", `${new Date().toLocaleTimeString("zh-CN", { hour12: false })} ${text}`));
  while (ol.children.length > 15) ol.lastChild.remove();
}

function follow() {
  followStaff(hall, (msg) => {
    if (msg.type === "call") {
      const c = msg.data;
      addEvent(`叫号 ${c.ticket} → ${c.window_name}${c.recall ? "（重呼 recall）" : ""}`);
    } else if (msg.type === "event") {
      const e = msg.data;
      if (e.type === "ticket_issued") addEvent(`取号 ${e.number} ${serviceName(e.service)}`);
      else if (e.type === "card_issued") addEvent(`亮牌 card ${e.card || ""} ${e.number || ""}`);
      else if (e.type === "notice_set") addEvent(`公告 ${e.notice || "（清除 cleared）"}`);
      else if (e.type === "case_card") addEvent(`办件亮牌 case ${e.card || ""} ${e.case || ""}`);
      else if (e.type === "case_accepted") addEvent(`受理 case ${e.case || ""} ${serviceName(e.service)}`);
    } else if (msg.type === "device" && !msg.data.status.online) {
      addEvent(`设备离线 device offline: ${msg.data.device}`);
    }
    if (msg.type !== "snapshot") soon();
  });
}

async function start() {
  const r = await fetch("/api/v1/me");
  if (r.status === 401) { location.href = `${BASE}/manager/login`; return; }
  me = await r.json();
  if (me.role === "department") { location.href = `${BASE}/backoffice`; return; }
  $("backoffice-link").href = `${BASE}/backoffice`;
  hall = PAGE_HALL || me.hall;
  $("me").textContent = `${me.name}（${me.role === "manager" ? "值班经理 manager" : me.role === "supervisor" ? "督查 supervisor (read-only)" : me.role}）`;
  if (me.role !== "manager") document.body.classList.add("read-only");
  $("report-link").href = `${BASE}/manager/report`;
  $("logout").onclick = async () => { await fetch("/api/v1/logout", { method: "POST" }); location.href = `${BASE}/manager/login`; };
  $("notice-form").onsubmit = (ev) => {
    ev.preventDefault();
    const text = $("notice-text").value.trim();
    act({ action: "notice", text, seen: data ? data.notice.seq : undefined },
      text ? `发布公告「${text}」 / publish the notice` : "清除公告 / clear the notice");
  };
  await load();
  follow();
  window.addEventListener("resize", () => data && renderCharts(data));
}

start();
