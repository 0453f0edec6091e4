// The city view: every hall the account is for, from /api/v1/city, every
// five seconds. A supervisor of the city sees all halls; a hall's manager
// only theirs. Each row leads to the hall's own dashboard.
"use strict";
const $ = (id) => document.getElementById(id);
const mmss = (s) => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function render(data) {
  const tbody = $("halls").querySelector("tbody");
  tbody.replaceChildren();
  let waiting = 0, open = 0, red = 0, yellow = 0;
  for (const h of data.halls) {
    const tr = document.createElement("tr");
    tr.dataset.hall = h.hall;
    const name = document.createElement("td");
    const a = document.createElement("a");
    a.href = `${h.pages}/manager`;
    a.textContent = h.name;
    name.append(a, " ", Object.assign(document.createElement("span"), { className: "en", textContent: h.hall }));
    tr.append(name);
    if (h.waiting === undefined) {
      const td = cell(h.runs_here ? "暂无数据 no data" : "由其他节点运行 run by another node");
      td.colSpan = 5;
      tr.append(td);
    } else {
      waiting += h.waiting; open += h.windows_open; red += h.cards.red; yellow += h.cards.yellow;
      tr.append(
        cell(String(h.waiting)),
        cell(mmss(h.longest_wait_s), h.longest_wait_s >= 1800 ? "red" : h.longest_wait_s >= 900 ? "yellow" : ""),
        cell(`${h.windows_open} / ${h.windows}`),
        cell(`${h.issued_today} / ${h.served_today}`),
        cell(`${h.cards.yellow} / ${h.cards.red}`, h.cards.red ? "red" : h.cards.yellow ? "yellow" : ""),
      );
    }
    tr.append(cell(h.runs_here ? "本节点 this node" : (h.runs_on || "—")));
    tbody.append(tr);
  }
  $("totals").textContent =
    `${data.halls.length} 个大厅 halls · 等候 ${waiting} waiting · 开放窗口 ${open} open windows · 黄牌 ${yellow} / 红牌 ${red} cards`;
  $("updated").textContent = `更新于 updated ${new Date(data.at_ms).toLocaleTimeString("zh-CN", { hour12: false })}`;
}

async function load() {
  const r = await fetch("/api/v1/city");
  if (r.status === 401) { location.href = "/manager/login"; return false; }
  if (!r.ok) { $("updated").textContent = `错误 error ${r.status}`; return true; }
  const data = await r.json();
  $("me").textContent = `${data.who.name}（${data.who.role === "manager" ? "值班经理 manager" : "督查 supervisor"}）`;
  render(data);
  return true;
}

$("logout").onclick = async () => { await fetch("/api/v1/logout", { method: "POST" }); location.href = "/manager/login"; };
load().then((go) => { if (go) setInterval(load, 5000); });
