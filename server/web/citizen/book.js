// Booking a visit (网上预约): a service, a day, a free slot, the ID number;
// the booking code to check in with at the kiosk; cancel before the slot.
"use strict";
const $ = (id) => document.getElementById(id);
let slot = null;
let booking = null;

function two(n) { return String(n).padStart(2, "0"); }
function ymd(d) { return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`; }

async function loadSlots() {
  slot = null;
  const box = $("slots");
  box.replaceChildren();
  const r = await fetch(`/api/v1/halls/${HALL}/services/${$("service").value}/slots?date=${$("date").value}`);
  const s = await r.json();
  if (!r.ok) { box.textContent = s.error ? s.error.message : r.status; return; }
  if (!s.slots.length) box.append(zhEn("这天没有可预约的时段", "No slots to book on this day", "p"));
  for (const x of s.slots) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.slot = String(x.slot_ms);
    b.disabled = x.free === 0;
    b.append(`${x.time} `, zhEn(x.free ? `余 ${x.free}` : "已满", x.free ? `${x.free} left` : "full"));
    b.onclick = () => {
      slot = x;
      for (const o of box.children) o.classList.toggle("primary", o === b);
    };
    box.append(b);
  }
}

async function start() {
  langToggle();
  const h = await (await fetch(`/api/v1/halls/${HALL}`)).json();
  $("hall-name").textContent = h.name;
  for (const s of h.services) {
    const o = document.createElement("option");
    o.value = s.service;
    o.textContent = `${s.name} ${s.name_en ? "· " + s.name_en : ""}`;
    $("service").append(o);
  }
  const d = new Date();
  for (let i = 0; i < 7; i++) {
    const o = document.createElement("option");
    o.value = ymd(d);
    o.textContent = `${ymd(d)}${i === 0 ? " 今天 today" : ""}`;
    $("date").append(o);
    d.setDate(d.getDate() + 1);
  }
  $("service").onchange = loadSlots;
  $("date").onchange = loadSlots;
  $("book").onclick = async () => {
    $("error").textContent = "";
    if (!slot) { $("error").textContent = "请选择时段 / choose a slot"; return; }
    const r = await fetch(`/api/v1/halls/${HALL}/bookings`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ service: $("service").value, slot_ms: slot.slot_ms, id_number: $("id-number").value.trim().toUpperCase() }),
    });
    const b = await r.json();
    if (!r.ok) { $("error").textContent = b.error ? b.error.message : r.status; return; }
    booking = b;
    $("code").textContent = b.id;
    $("when").textContent = `${$("date").value} ${slot.time} · ${b.service_name}`;
    $("done").hidden = false;
    $("done").scrollIntoView();
    loadSlots();
  };
  $("cancel").onclick = async () => {
    const r = await fetch(`/api/v1/halls/${HALL}/bookings/${encodeURIComponent(booking.id)}`, { method: "DELETE" });
    const b = await r.json();
    if (!r.ok) { $("error").textContent = b.error ? b.error.message : r.status; return; }
    $("when").replaceChildren(zhEn("已取消", "Cancelled"));
    $("cancel").hidden = true;
    loadSlots();
  };
  loadSlots();
}
start();
