// The self-service kiosk: services by zone, the materials and time limit
// before the ticket (一次性告知), a priority class where the hall allows
// it, an optional ID number, booking check-in by code; the ticket on
// screen, with how its printing went; a pick-up ticket with a case code. It takes tickets with its own device
// login (no public rate limit), kept in this browser; leaving needs it.
"use strict";
const $ = (id) => document.getElementById(id);
let hall = null;
let chosen = null;
let klass = null;
const auth = () => localStorage.getItem("hallq-kiosk-auth");
let voice = false;

/// Reads text aloud with the kiosk browser's speech (a Chinese voice where
/// the kiosk has one), for blind citizens; only while voice is on.
function say(text) {
  if (!voice || !window.speechSynthesis) return;
  speechSynthesis.cancel();
  const u = new SpeechSynthesisUtterance(text);
  u.lang = "zh-CN";
  u.rate = 0.9;
  speechSynthesis.speak(u);
}

function idle() {
  for (const d of document.querySelectorAll("dialog[open]")) if (d.id !== "setup") d.close();
}
let idleTimer = null;
document.addEventListener("pointerdown", () => { clearTimeout(idleTimer); idleTimer = setTimeout(idle, 60000); });

async function login(id, password) {
  const basic = "Basic " + btoa(unescape(encodeURIComponent(`${id}:${password}`)));
  // A harmless read with the login: a wrong one is refused (401).
  const r = await fetch(`/api/v1/halls/${HALL}/tickets/none`, { headers: { Authorization: basic } });
  if (r.status === 401 || r.status === 429) return false;
  localStorage.setItem("hallq-kiosk-auth", basic);
  localStorage.setItem("hallq-kiosk-id", id);
  return true;
}

function waitingLabel(s) {
  return s.issuing ? zhEn(`等候 ${s.waiting} 人`, `${s.waiting} waiting`) : zhEn("暂停取号", "not issuing now");
}

async function load() {
  const r = await fetch(`/api/v1/halls/${HALL}`);
  hall = await r.json();
  $("hall-name").textContent = hall.name;
  $("pickup").hidden = !hall.pickup;
  // Refreshing: the buttons stay (a finger may be on one); their counts change.
  const existing = document.querySelectorAll("#zones button[data-service]");
  if (existing.length) {
    const byId = Object.fromEntries(hall.services.map((s) => [s.service, s]));
    for (const b of existing) {
      const s = byId[b.dataset.service];
      if (!s) continue;
      b.disabled = !s.issuing;
      b.querySelector("small").replaceChildren(waitingLabel(s));
      b.onclick = () => choose(s);
    }
    return;
  }
  const box = $("zones");
  box.replaceChildren();
  const byId = Object.fromEntries(hall.services.map((s) => [s.service, s]));
  const zones = hall.zones.length ? hall.zones : [{ zone: "all", name: "", services: hall.services.map((s) => s.service) }];
  const shown = new Set();
  for (const z of zones) {
    const ids = z.services.filter((id) => byId[id] && !shown.has(id));
    if (!ids.length) continue;
    const sec = document.createElement("section");
    sec.className = "zone";
    if (z.name) { const h = document.createElement("h2"); h.textContent = z.name; sec.append(h); }
    const grid = document.createElement("div");
    grid.className = "services";
    for (const id of ids) {
      shown.add(id);
      const s = byId[id];
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.service = id;
      b.disabled = !s.issuing;
      const name = zhEn(s.name, s.name_en || s.name);
      const small = document.createElement("small");
      small.append(waitingLabel(s));
      b.append(name, small);
      b.onclick = () => choose(s);
      grid.append(b);
    }
    sec.append(grid);
    box.append(sec);
  }
}

function choose(s) {
  chosen = s;
  say(`${s.name}。承诺时限 ${s.limit_min} 分钟。请备齐：${s.materials.join("，") || "无需材料"}。按取号键取号。`);
  klass = null;
  $("service-name").replaceChildren(zhEn(s.name, s.name_en || s.name));
  $("service-limit").replaceChildren(zhEn(`承诺办理时限 ${s.limit_min} 分钟，预计等候约 ${Math.ceil((s.waiting + 0.5) * s.typical_min / Math.max(1, s.windows_open))} 分钟`,
    `Service within ${s.limit_min} min; wait about ${Math.ceil((s.waiting + 0.5) * s.typical_min / Math.max(1, s.windows_open))} min`));
  const ul = $("service-materials");
  ul.replaceChildren();
  for (const m of s.materials.length ? s.materials : ["无需材料 / nothing needed"]) {
    const li = document.createElement("li");
    li.textContent = m;
    ul.append(li);
  }
  const cls = $("classes");
  cls.replaceChildren();
  for (const c of hall.classes.filter((c) => !c.booking_only)) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.class = c.id;
    b.textContent = c.name;
    b.onclick = () => {
      klass = klass === c.id ? null : c.id;
      for (const x of cls.children) x.classList.toggle("primary", x.dataset.class === klass);
    };
    cls.append(b);
  }
  $("id-number").value = "";
  $("service-error").textContent = "";
  $("service").showModal();
}

async function take(body, errorBox) {
  errorBox.textContent = "";
  const r = await fetch(`/api/v1/halls/${HALL}/tickets`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: auth() || "", "Idempotency-Key": crypto.randomUUID() },
    body: JSON.stringify(body),
  });
  const t = await r.json().catch(() => ({}));
  if (!r.ok) {
    errorBox.textContent = (t.error && t.error.message) || `${r.status}`;
    return;
  }
  for (const d of document.querySelectorAll("dialog[open]")) d.close();
  $("ticket-service").replaceChildren(zhEn(t.service_name, t.service_name));
  $("ticket-number").textContent = t.number;
  $("ticket-ahead").replaceChildren(zhEn(`前面还有 ${t.ahead} 人，预计约 ${waitMinutes(t)} 分钟`,
    `${t.ahead} ahead of you, about ${waitMinutes(t)} min`));
  const pr = $("ticket-print");
  pr.className = t.print && !t.print.ok ? "error" : "muted";
  pr.replaceChildren(!t.print ? zhEn("请记下号码", "Please note your number")
    : t.print.ok ? zhEn("请取走凭条", "Please take your ticket slip") : document.createTextNode(t.print.error));
  const url = `${location.origin}${BASE}/t/${t.id}`;
  const a = $("ticket-link");
  a.href = url;
  a.textContent = url;
  $("ticket").showModal();
  say(`您的号码是 ${t.number.split("").join(" ")}，前面还有 ${t.ahead} 人。`);
  load();
}

function start() {
  langToggle();
  setInterval(() => { $("clock").textContent = new Date().toLocaleTimeString("zh-CN", { hour12: false }); }, 1000);
  $("voice").onclick = () => {
    voice = !voice;
    $("voice").setAttribute("aria-pressed", String(voice));
    if (voice && hall) say(`语音已打开。可办理：${hall.services.map((s) => s.name).join("，")}。`);
  };
  $("take").onclick = () => {
    const body = { service: chosen.service };
    if (klass) body.priority = klass;
    const idn = $("id-number").value.trim().toUpperCase();
    if (idn) body.id_number = idn;
    take(body, $("service-error"));
  };
  $("service-cancel").onclick = () => $("service").close();
  $("checkin").onclick = () => { $("booking-code").value = ""; $("booking-error").textContent = ""; $("booking").showModal(); };
  $("booking-cancel").onclick = () => $("booking").close();
  $("booking-ok").onclick = () => take({ appointment: $("booking-code").value.trim() }, $("booking-error"));
  // 统一出件: a pick-up ticket with the receipt's case code goes first.
  $("pickup").onclick = () => { $("case-code").value = ""; $("case-error").textContent = ""; $("case").showModal(); };
  $("case-cancel").onclick = () => $("case").close();
  $("case-ok").onclick = () => {
    const code = $("case-code").value.trim();
    if (!code) { $("case-error").textContent = "请输入办件编号 / enter the case code"; return; }
    take({ case: code }, $("case-error"));
  };
  $("ticket-ok").onclick = () => $("ticket").close();
  $("exit").onclick = () => { $("leave-password").value = ""; $("leave-error").textContent = ""; $("leave").showModal(); };
  $("leave-cancel").onclick = () => $("leave").close();
  $("leave-ok").onclick = async () => {
    const id = localStorage.getItem("hallq-kiosk-id") || "";
    const basic = "Basic " + btoa(unescape(encodeURIComponent(`${id}:${$("leave-password").value}`)));
    if (basic !== auth()) { $("leave-error").textContent = "密码错误 / wrong password"; return; }
    localStorage.removeItem("hallq-kiosk-auth");
    location.href = "about:blank";
  };
  // The page cannot be left by going back.
  history.pushState(null, "", location.href);
  window.addEventListener("popstate", () => history.pushState(null, "", location.href));
  $("setup-ok").onclick = async () => {
    if (await login($("setup-id").value.trim(), $("setup-password").value)) { $("setup").close(); load(); }
    else $("setup-error").textContent = "终端编号或密码错误 / wrong kiosk id or password";
  };
  if (!auth()) $("setup").showModal();
  else load();
  followStream((msg) => { if (msg.type === "metrics") load(); }, () => {});
}
start();
