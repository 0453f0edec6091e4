// The day report: /reports/day as tables and an hourly chart; prints on A4.
"use strict";
const $ = (id) => document.getElementById(id);
// On a server with several halls the pages are under /h/{hall}/.
const PAGE_HALL = (location.pathname.match(/^\/h\/([^/]+)\//) || [])[1];
const BASE = PAGE_HALL ? `/h/${PAGE_HALL}` : "";
let hall = null;

const mmss = (s) => (s === null || s === undefined ? "–" : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`);
const hours = (s) => (s === null || s === undefined ? "–" : `${(s / 3600).toFixed(1)} h`);
const COLUMNS = [
  ["name", "名称", "name", (r) => r.name],
  ["tickets", "号数", "tickets", (r) => r.tickets],
  ["served", "办结", "served", (r) => r.served],
  ["no_shows", "未到", "no-shows", (r) => r.no_shows],
  ["transfers", "转办", "transfers", (r) => r.transfers],
  ["wait", "平均/P90等候", "wait avg/p90", (r) => `${mmss(r.avg_wait_s)} / ${mmss(r.p90_wait_s)}`],
  ["walkup", "到窗", "walk-up", (r) => mmss(r.avg_walkup_s)],
  ["service", "平均办理", "avg service", (r) => mmss(r.avg_service_s)],
  ["idle", "空闲", "idle", (r) => hours(r.idle_s)],
  ["ratings", "评价", "ratings", (r) => (r.ratings ? `${r.avg_rating.toFixed(1)} (${r.ratings})` : "–")],
  ["cards", "黄/红牌", "cards", (r) => `${r.yellow_cards} / ${r.red_cards}`],
  ["overtime", "超时", "overtime", (r) => mmss(r.overtime_s)],
];

function table(id, rows, withIdle) {
  const t = $(id);
  t.replaceChildren();
  const cols = COLUMNS.filter((c) => withIdle || c[0] !== "idle");
  const head = document.createElement("tr");
  for (const [, zh, en] of cols) {
    const th = document.createElement("th");
    th.append(zh, document.createElement("br"));
    const s = document.createElement("span");
    s.className = "en";
    s.textContent = en;
    th.append(s);
    head.append(th);
  }
  t.append(head);
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = cols.length;
    td.textContent = "无 / none";
    tr.append(td);
    t.append(tr);
  }
  for (const r of rows) {
    const tr = document.createElement("tr");
    for (const [, , , f] of cols) {
      const td = document.createElement("td");
      td.textContent = String(f(r));
      tr.append(td);
    }
    t.append(tr);
  }
}

function chart(r) {
  if (!window.uPlot) return;
  const target = $("chart-hours");
  target.replaceChildren();
  const xs = r.hours.map((h) => h.hour);
  const opts = {
    width: Math.min(900, Math.max(400, target.clientWidth || 700)),
    height: 220,
    // The working day at least (8:00–18:00), whatever hours had tickets.
    scales: {
      x: { time: false, auto: false, range: [Math.min(8, ...xs), Math.max(18, ...xs) + 1] },
      min: { auto: true },
    },
    series: [
      { label: "时 hour" },
      { label: "取号 issued", stroke: "#c0392b", width: 2, points: { show: true } },
      { label: "平均等候 avg wait (min)", stroke: "#1f6feb", width: 2, scale: "min", points: { show: true }, spanGaps: true },
    ],
    axes: [{ values: (u, v) => v.map((h) => `${h}:00`) }, {}, { scale: "min", side: 1, grid: { show: false } }],
  };
  new uPlot(opts, [xs, r.hours.map((h) => h.issued), r.hours.map((h) => (h.avg_wait_s === null ? null : Math.round(h.avg_wait_s / 6) / 10))], target);
}

async function load(date) {
  const q = date ? `?date=${encodeURIComponent(date)}` : "";
  const res = await fetch(`/api/v1/halls/${hall}/reports/day${q}`);
  if (res.status === 401) { location.href = `${BASE}/manager/login`; return; }
  const r = await res.json();
  if (!res.ok) { $("generated").textContent = r.error ? r.error.message : `error ${res.status}`; return; }
  $("hall-name").textContent = r.name;
  $("report-date").textContent = r.date;
  $("date").value = r.date;
  document.title = `${r.name} 日报表 ${r.date}`;
  $("csv").href = `/api/v1/halls/${hall}/reports/day?date=${r.date}&format=csv`;
  const t = $("totals");
  t.replaceChildren();
  for (const [zh, en, v] of [
    ["号数", "tickets", r.totals.tickets], ["办结", "served", r.totals.served], ["未到", "no-shows", r.totals.no_shows],
    ["平均等候", "avg wait", mmss(r.totals.avg_wait_s)], ["P90等候", "p90 wait", mmss(r.totals.p90_wait_s)],
    ["平均办理", "avg service", mmss(r.totals.avg_service_s)], ["黄/红牌", "cards", `${r.totals.yellow_cards}/${r.totals.red_cards}`],
  ]) {
    const box = document.createElement("div");
    box.className = "total";
    const b = document.createElement("b");
    b.textContent = String(v);
    const s1 = document.createElement("span");
    s1.textContent = zh;
    const s2 = document.createElement("span");
    s2.className = "en";
    s2.textContent = en;
    box.append(b, s1, s2);
    t.append(box);
  }
  table("by-clerk", r.by_clerk, true);
  table("by-window", r.by_window.filter((w) => w.tickets > 0 || w.idle_s), true);
  table("by-service", r.by_service, false);
  // 限时办结: the on-time share per department.
  $("cases-section").hidden = !r.cases.length;
  plainTable("cases", [["部门", "Department"], ["受理", "Accepted"], ["在办", "Open"], ["已办结", "Decided"],
    ["按时", "On time"], ["逾期", "Late"], ["超时默许", "Deemed"], ["按时率", "On time %"], ["平均工作日", "Avg days"],
    ["黄牌在办", "Yellow open"], ["红牌在办", "Red open"]],
  r.cases.map((f) => [f.department_name, f.accepted, f.open, f.decided, f.on_time, f.late, f.deemed,
    f.on_time_percent === null ? "–" : `${f.on_time_percent}%`, f.avg_days ?? "–", f.yellow_open, f.red_open]));
  chart(r);
  $("generated").textContent = `生成于 generated ${new Date(r.at_ms).toLocaleString("zh-CN", { hour12: false })}`;
}

const WEEKDAYS = ["周一 Mon", "周二 Tue", "周三 Wed", "周四 Thu", "周五 Fri", "周六 Sat", "周日 Sun"];

/// A table of plain cells under two-line (Chinese / English) heads.
function plainTable(id, heads, rows) {
  const t = $(id);
  t.replaceChildren();
  const head = document.createElement("tr");
  for (const [zh, en] of heads) {
    const th = document.createElement("th");
    th.append(zh, document.createElement("br"), Object.assign(document.createElement("span"), { className: "en", textContent: en }));
    head.append(th);
  }
  t.append(head);
  if (!rows.length) {
    const tr = document.createElement("tr");
    tr.append(Object.assign(document.createElement("td"), { textContent: "无 / none", colSpan: heads.length }));
    t.append(tr);
  }
  for (const cells of rows) {
    const tr = document.createElement("tr");
    for (const c of cells) tr.append(Object.assign(document.createElement("td"), { textContent: String(c) }));
    t.append(tr);
  }
}

/// What the whole log says: /learned.
async function learned() {
  const [lr, hr] = await Promise.all([fetch(`/api/v1/halls/${hall}/learned`), fetch(`/api/v1/halls/${hall}`)]);
  if (!lr.ok || !hr.ok) return;
  const l = await lr.json();
  const names = Object.fromEntries((await hr.json()).services.map((s) => [s.service, s.name]));
  $("learned-note").textContent =
    `${l.days} 个服务日，近期权重更大（半衰期 ${l.half_life_days} 天） / ${l.days} service days, recent ones weigh more (half-life ${l.half_life_days} days)`;
  const time = (f) => (f ? `${mmss(Math.round(f.median_s))} / ${mmss(Math.round(f.mean_s))}` : "–");
  plainTable("learned", [["业务", "service"], ["办理时长 中位/平均", "service time median/mean"], ["离散度 σ", "spread σ (log)"], ["样本", "services"], ["过号率", "no-show rate"], ["日均取号", "tickets a day"], ["最忙时段", "busiest hour"]],
    l.services.map((s) => {
      let best = null;
      s.arrivals_per_hour.forEach((day, d) => day.forEach((v, h) => { if (v > 0 && (!best || v > best.v)) best = { d, h, v }; }));
      return [
        names[s.service] || s.service,
        time(s.service_time),
        s.service_time ? s.service_time.log_sigma.toFixed(2) : "–",
        s.service_time ? s.service_time.n : 0,
        s.no_show_rate === null ? "–" : `${(s.no_show_rate * 100).toFixed(1)} %`,
        s.per_day.toFixed(1),
        best ? `${WEEKDAYS[best.d]} ${best.h}:00 (${best.v.toFixed(1)}/h)` : "–",
      ];
    }));
  plainTable("learned-clerks", [["人员", "clerk"], ["办理时长 中位/平均", "median/mean"], ["离散度 σ", "spread σ"], ["样本", "services"]],
    l.clerks.map((c) => [c.id, time(c.service_time), c.service_time.log_sigma.toFixed(2), c.service_time.n]));
}

async function start() {
  const me = await fetch("/api/v1/me");
  if (me.status === 401) { location.href = `${BASE}/manager/login`; return; }
  hall = PAGE_HALL || (await me.json()).hall;
  $("print").onclick = () => window.print();
  $("date-form").onsubmit = (ev) => { ev.preventDefault(); load($("date").value); };
  await load(new URLSearchParams(location.search).get("date"));
  await learned();
}
start();
