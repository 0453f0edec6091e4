// The citizen's ticket on the phone, reached by the printed QR code: where
// it stands, live over the public stream; where to go when called; the
// rating afterwards; the case accepted from it, to its result. Nothing
// here shows another citizen's ticket.
"use strict";
const ID = decodeURIComponent(location.pathname.split("/").pop());
const main = document.getElementById("main");
let ticket = null;
let live = false;
let lastStatus = null;
let lastCase = null;

/// A change worth telling at once: said by screen readers (the live
/// region), felt (vibration) and seen (a flash), for deaf citizens too.
function tell(zh, en) {
  const a = document.getElementById("announce");
  a.textContent = document.body.classList.contains("lang-en") ? en : zh;
  if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
  document.body.classList.add("flash");
  setTimeout(() => document.body.classList.remove("flash"), 3000);
}

function card(cls, ...children) {
  const d = document.createElement("div");
  d.className = `card ${cls || ""}`;
  d.append(...children);
  return d;
}
function p(cls, ...children) {
  const e = document.createElement("p");
  if (cls) e.className = cls;
  e.append(...children);
  return e;
}

function render(t, hallName) {
  main.replaceChildren();
  main.append(p("hall", hallName || ""));
  const num = p("number", t.number);
  num.id = "number";
  main.append(num, p("service", zhEn(t.service_name, t.service_name)));
  const status = document.createElement("div");
  status.id = "status";
  if (t.status === "waiting" || t.status === "held") {
    status.append(card("",
      p("big", zhEn(`前面还有 ${t.ahead} 人`, `${t.ahead} ahead of you`)),
      p("", zhEn(`预计等候约 ${waitMinutes(t)} 分钟`, `about ${waitMinutes(t)} min`))));
  } else if (t.status === "called") {
    status.append(card("called",
      p("big", zhEn(`请到 ${t.window_name || t.window} 办理`, `Please go to ${t.window_name || t.window}`))));
  } else if (t.status === "serving") {
    status.append(card("", p("big", zhEn(`正在 ${t.window_name || ""} 办理`, `Being served at ${t.window_name || ""}`))));
  } else if (t.status === "done" && t.case) {
    // Accepted (受理): the case behind the counter, to the result.
    const [zh, en] = t.case.message.split(" / ");
    const c = card(`case ${t.case.state}`,
      p("big", zhEn(zh, en || zh)),
      p("", zhEn(`办件编号 ${t.case.code}（${t.case.state_name}）`, `Case ${t.case.code}`)));
    c.id = "case";
    status.append(c);
    if (t.rating === null || t.rating === undefined) status.append(rating(t));
  } else if (t.status === "done") {
    status.append(card("", p("big", zhEn("已办结，谢谢！", "Done — thank you!"))));
    if (t.rating === null || t.rating === undefined) status.append(rating(t));
    else status.append(card("", p("", zhEn(`您的评价：${t.rating} 分`, `Your rating: ${t.rating}/5`))));
  } else if (t.status === "no_show") {
    status.append(card("", p("big", zhEn("已过号，请到咨询台", "Missed — please ask at the front desk"))));
  } else {
    status.append(card("", p("big", zhEn("此号已失效", "This ticket is no longer valid"))));
  }
  main.append(status);
  if (t.materials && t.materials.length) {
    const ul = document.createElement("ul");
    for (const m of t.materials) {
      const li = document.createElement("li");
      li.textContent = m;
      ul.append(li);
    }
    main.append(card("", p("", zhEn("请备齐材料：", "Please bring:")), ul));
  }
  const l = p("muted live", live ? zhEn("● 实时更新", "● live") : zhEn("○ 正在重新连接…", "○ reconnecting…"));
  l.id = "live";
  main.append(l);
}

function rating(t) {
  const labels = [["非常不满意", "very poor"], ["不满意", "poor"], ["基本满意", "fair"], ["满意", "good"], ["非常满意", "excellent"]];
  const box = document.createElement("div");
  box.className = "stars";
  box.id = "rating";
  labels.forEach(([zh, en], i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.score = String(i + 1);
    b.append(zhEn(`${i + 1} ${zh}`, `${i + 1} ${en}`));
    b.onclick = async () => {
      const r = await fetch(`/api/v1/halls/${HALL}/tickets/${encodeURIComponent(ID)}/rating`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ score: i + 1 }),
      });
      if (!r.ok) {
        const e = await r.json().catch(() => ({}));
        alert((e.error && e.error.message) || r.status);
      }
      load();
    };
    box.append(b);
  });
  return card("", p("", zhEn("请为本次服务评价（好差评）：", "Please rate this service:")), box);
}

let hallName = "";
async function load() {
  const r = await fetch(`/api/v1/halls/${HALL}/tickets/${encodeURIComponent(ID)}`);
  if (r.status === 404) {
    main.replaceChildren(card("", p("big", zhEn("找不到这张号", "Ticket not found")),
      p("", zhEn("号码可能已过期，或链接不完整。请到咨询台询问。", "It may have expired, or the link is incomplete. Please ask at the front desk."))));
    return;
  }
  if (!r.ok) return;
  ticket = await r.json();
  if (ticket.status === "called" && lastStatus !== null && lastStatus !== "called") {
    const w = ticket.window_name || ticket.window;
    tell(`轮到您了，请到 ${w}`, `It is your turn: please go to ${w}`);
  }
  if (ticket.case && ticket.case.state === "ready" && lastCase !== null && lastCase !== "ready") {
    tell(`办结，请到 ${ticket.case.pickup_window || "大厅"} 取件`, `Your result is ready at ${ticket.case.pickup_window || "the hall"}`);
  }
  lastCase = ticket.case ? ticket.case.state : null;
  lastStatus = ticket.status;
  render(ticket, hallName);
}

let timer = null;
function soon() { clearTimeout(timer); timer = setTimeout(load, 400); }

async function start() {
  langToggle();
  const h = await fetch(`/api/v1/halls/${HALL}`).then((r) => (r.ok ? r.json() : null)).catch(() => null);
  hallName = h ? h.name : "";
  await load();
  followStream((msg) => {
    if (msg.type === "event" || msg.type === "call") soon();
  }, (up) => { live = up; if (ticket) render(ticket, hallName); if (up) soon(); });
  // A case moves behind the counter, where the public stream says nothing:
  // look again every minute while it is open.
  setInterval(() => { if (ticket && ticket.case && ticket.case.state !== "delivered") load(); }, 60000);
}
start();
