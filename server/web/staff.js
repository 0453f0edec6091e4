// What the staff pages (dashboard, back office) share: the hall's staff
// stream, with the #live badge, reconnecting after two seconds.
"use strict";

/// Follows `hall`'s stream; `onMessage` gets each parsed line.
function followStaff(hall, onMessage) {
  const live = document.getElementById("live");
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/halls/${hall}/stream`);
  ws.onopen = () => { live.className = "live on"; live.textContent = "实时 live"; };
  ws.onclose = () => {
    live.className = "live off";
    live.textContent = "断开 disconnected";
    setTimeout(() => followStaff(hall, onMessage), 2000);
  };
  ws.onmessage = (m) => {
    let msg;
    try { msg = JSON.parse(m.data); } catch { return; }
    onMessage(msg);
  };
}
