// Shared by the citizens' pages: the hall id, the language toggle, and
// elements with Chinese and English text.
"use strict";
const HALL = document.querySelector("meta[name=hallq-hall]").content;
// Where this hall's pages are: "" on a one-hall server, else /h/{hall}.
const BASE = location.pathname.startsWith(`/h/${HALL}/`) ? `/h/${HALL}` : "";
// A ticket's expected wait in minutes: the forecast's range ("12–18")
// when the server has one, else its single estimate ("15").
function waitMinutes(t) {
  if (t.wait_range_s) {
    const lo = Math.max(1, Math.floor(t.wait_range_s[0] / 60));
    const hi = Math.max(lo, Math.ceil(t.wait_range_s[1] / 60));
    return lo === hi ? `${lo}` : `${lo}–${hi}`;
  }
  return `${Math.max(1, Math.ceil(t.estimated_wait_s / 60))}`;
}
function zhEn(zh, en, tag = "span") {
  const e = document.createElement(tag);
  const a = document.createElement("span");
  a.className = "zh";
  a.textContent = zh;
  const b = document.createElement("span");
  b.className = "en";
  b.textContent = en;
  e.append(a, b);
  return e;
}
function langToggle() {
  const b = document.createElement("button");
  b.className = "lang";
  b.type = "button";
  b.append(zhEn("English", "中文"));
  if (localStorage.getItem("hallq-lang") === "en") document.body.classList.add("lang-en");
  b.onclick = () => {
    document.body.classList.toggle("lang-en");
    localStorage.setItem("hallq-lang", document.body.classList.contains("lang-en") ? "en" : "zh");
  };
  document.body.append(b);
}
function followStream(onLine, onState) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  let ws;
  const open = () => {
    ws = new WebSocket(`${proto}//${location.host}/api/v1/halls/${HALL}/stream`);
    ws.onopen = () => onState(true);
    ws.onclose = () => { onState(false); setTimeout(open, 2000); };
    ws.onmessage = (m) => { try { onLine(JSON.parse(m.data)); } catch (e) { /* not ours */ } };
  };
  open();
}
