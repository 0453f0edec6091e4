// The hall screen (综合屏 on a TV): the newest call large, flashing for a
// few seconds with a chime; the last calls by window; waiting per service;
// the manager's notice scrolling; date and time. Reconnects by itself and
// says 离线 when the server is gone.
"use strict";
const $ = (id) => document.getElementById(id);
const KEEP = 6;
let calls = [];
let audio = null;

function chime() {
  // A two-note chime (叮咚), made here: the voice is the announcer's.
  try {
    audio = audio || new AudioContext();
    const now = audio.currentTime;
    for (const [f, t] of [[880, 0], [660, 0.35]]) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, now + t);
      g.gain.exponentialRampToValueAtTime(0.3, now + t + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, now + t + 0.6);
      o.connect(g).connect(audio.destination);
      o.start(now + t);
      o.stop(now + t + 0.65);
    }
  } catch (e) { /* no sound card: silent */ }
}

function tick() {
  const d = new Date();
  const two = (n) => String(n).padStart(2, "0");
  $("clock").textContent = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function showCalls() {
  const t = $("calls");
  t.replaceChildren();
  for (const c of calls.slice(1, KEEP + 1)) {
    const tr = document.createElement("tr");
    const n = document.createElement("td");
    n.className = "n";
    n.textContent = c.number;
    const w = document.createElement("td");
    w.append(zhEn(`请到 ${c.window_name}`, `→ ${c.window_name}`));
    tr.append(n, w);
    t.append(tr);
  }
  const first = calls[0];
  if (first) {
    $("newest-number").textContent = first.number;
    $("newest-where").replaceChildren(zhEn(`请到 ${first.window_name} 办理`, `Please go to ${first.window_name}`));
  }
}

function newest(c, fresh) {
  calls = calls.filter((x) => x.number !== c.number);
  calls.unshift(c);
  calls = calls.slice(0, KEEP + 1);
  showCalls();
  if (fresh) {
    const box = $("newest");
    box.classList.add("flash");
    setTimeout(() => box.classList.remove("flash"), 5000);
    chime();
  }
}

async function refresh() {
  const r = await fetch(`/api/v1/halls/${HALL}`).catch(() => null);
  if (!r || !r.ok) return;
  const h = await r.json();
  $("hall-name").textContent = h.name;
  document.title = `${h.name} · 叫号屏`;
  const q = $("queues");
  q.replaceChildren();
  for (const s of h.services) {
    const tr = document.createElement("tr");
    const name = document.createElement("td");
    name.append(zhEn(s.name, s.name_en || s.name));
    const w = document.createElement("td");
    w.className = "w";
    w.textContent = String(s.waiting);
    tr.append(name, w);
    q.append(tr);
  }
  if (!calls.length) {
    // Started mid-day: the windows calling or serving now, newest first.
    const now = h.windows.filter((w) => w.ticket && (w.status === "calling" || w.status === "serving"));
    for (const w of now.reverse()) newest({ number: w.ticket, window_name: w.name }, false);
  }
  const n = await fetch(`/api/v1/halls/${HALL}/notice`).then((x) => x.json()).catch(() => null);
  $("notice").textContent = n && n.text ? n.text : "请留意叫号，过号请到咨询台 · Please watch for your number";
}

let timer = null;
function soon() { clearTimeout(timer); timer = setTimeout(refresh, 300); }

function start() {
  langToggle();
  tick();
  setInterval(tick, 1000);
  refresh();
  followStream((msg) => {
    if (msg.type === "call") newest({ number: msg.data.ticket, window_name: msg.data.window_name }, true);
    if (msg.type === "event" || msg.type === "metrics") soon();
  }, (up) => { $("offline").hidden = up; if (up) soon(); });
}
start();
