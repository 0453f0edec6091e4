// The login form: POST /api/v1/login, then the dashboard.
"use strict";
// On a server with several halls the pages are under /h/{hall}/.
const PAGE_HALL = (location.pathname.match(/^\/h\/([^/]+)\//) || [])[1];
const BASE = PAGE_HALL ? `/h/${PAGE_HALL}` : "";
document.getElementById("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const error = document.getElementById("login-error");
  error.hidden = true;
  const body = JSON.stringify({
    id: document.getElementById("login-id").value.trim(),
    password: document.getElementById("login-password").value,
  });
  try {
    const r = await fetch("/api/v1/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
    if (r.ok) {
      const who = await r.json().catch(() => ({}));
      // The back office and the pick-up window's clerk have the cases'
      // page; everyone else the dashboard.
      const cases = who.role === "department" || who.role === "clerk";
      location.href = cases ? `${BASE}/backoffice` : `${BASE}/manager`;
      return;
    }
    const e = await r.json().catch(() => ({}));
    error.textContent = (e.error && e.error.message) || `登录失败 / login failed (${r.status})`;
  } catch (e) {
    error.textContent = "连不上服务器 / cannot reach the server";
  }
  error.hidden = false;
});
