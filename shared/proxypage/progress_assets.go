package proxypage

import (
	"crypto/sha256"
	"encoding/base64"
)

// The progress page's assets, all inline: it is served while the app is
// down, from a Lambda, so it fetches nothing. Its Content-Security-Policy
// allows exactly this style and this script (by hash), so even a value that
// escaped its escaping could not run. The script is static: it reads the
// dynamic values from the page's data attributes.

// progressStyle is the page's CSS: a centered card, light and dark schemes.
const progressStyle = `:root{color-scheme:light dark;--bg:#f3f5f9;--card:#fff;--fg:#0f172a;--muted:#5b6475;--line:#e3e8ef;--accent:#2563eb;--ring:#dbe6fe;--ok:#16a34a;--bad:#dc2626;--bad-bg:#fef2f2;--bad-line:#fecaca}
@media (prefers-color-scheme:dark){:root{--bg:#0b1020;--card:#131a2a;--fg:#e6e9ef;--muted:#9aa3b5;--line:#263047;--accent:#6ea0ff;--ring:#1e3566;--ok:#3fbf6f;--bad:#f87171;--bad-bg:#2a1418;--bad-line:#6b2330}}
*{box-sizing:border-box}
html,body{height:100%}
body{margin:0;display:flex;align-items:center;justify-content:center;padding:24px;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.card{width:100%;max-width:520px;background:var(--card);border:1px solid var(--line);border-radius:16px;padding:28px 32px 24px;box-shadow:0 1px 2px rgba(15,23,42,.05),0 16px 40px -12px rgba(15,23,42,.18)}
.brand{display:flex;align-items:center;gap:8px;margin-bottom:22px;color:var(--muted);font-size:13px;font-weight:600;letter-spacing:.02em}
.brand svg{width:22px;height:22px;color:var(--accent)}
h1{display:flex;align-items:baseline;flex-wrap:wrap;gap:0 .3em;margin:0 0 6px;font-size:22px;line-height:1.3;font-weight:650}
.rule{overflow-wrap:anywhere}
.target{margin:0 0 22px;color:var(--muted);font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.path{color:var(--fg)}
.steps{list-style:none;margin:0 0 22px;padding:0}
.step{position:relative;display:flex;align-items:center;gap:12px;padding:7px 0;color:var(--muted)}
.step:not(:last-child)::after{content:"";position:absolute;left:11px;top:33px;height:calc(100% - 26px);width:2px;border-radius:1px;background:var(--line)}
.dot{flex:none;display:flex;align-items:center;justify-content:center;width:24px;height:24px;border-radius:50%;border:2px solid var(--line);background:var(--card)}
.done{color:var(--fg)}
.done .dot{border-color:var(--ok);background:var(--ok)}
.done .dot::before{content:"";width:5px;height:10px;margin-top:-2px;border:solid #fff;border-width:0 2px 2px 0;transform:rotate(45deg)}
.step.done:not(:last-child)::after{background:var(--ok)}
.active{color:var(--fg);font-weight:600}
.active .dot{border-color:var(--accent);box-shadow:0 0 0 4px var(--ring)}
.active .dot::before{content:"";width:8px;height:8px;border-radius:50%;background:var(--accent);animation:pulse 1.4s ease-in-out infinite}
@keyframes pulse{50%{transform:scale(.55);opacity:.45}}
[data-phase=failed] .steps{opacity:.55}
[data-phase=failed] .elapsed{display:none}
.alert{margin:0 0 20px;padding:12px 14px;border:1px solid var(--bad-line);border-left-width:4px;border-left-color:var(--bad);border-radius:10px;background:var(--bad-bg)}
.alert p{margin:0}
.alert .title{color:var(--bad);font-weight:650}
.error{margin:4px 0 8px!important;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere;white-space:pre-wrap}
.retry{display:flex;align-items:center;justify-content:space-between;gap:12px;flex-wrap:wrap;color:var(--muted);font-size:14px}
.button{display:inline-block;padding:6px 14px;border-radius:8px;background:var(--accent);color:#fff;font-weight:600;font-size:14px;text-decoration:none}
.button:hover{filter:brightness(1.08)}
.button:focus-visible{outline:3px solid var(--ring);outline-offset:2px}
.meta{display:flex;justify-content:space-between;flex-wrap:wrap;gap:4px 16px;padding-top:14px;border-top:1px solid var(--line);color:var(--muted);font-size:13px}
#elapsed{color:var(--fg);font-weight:600;font-variant-numeric:tabular-nums}
.sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
[hidden]{display:none!important}
@media (max-width:480px){body{padding:12px}.card{padding:22px 20px 18px}}
@media (prefers-reduced-motion:reduce){*{animation:none!important}}`

// progressScript counts the elapsed time up, polls the page's URL every
// data-poll ms (the data-retry seconds once failed) with X-Autostop-Poll: 1,
// shows the phase and error of each JSON answer, and reloads the page as
// soon as an answer is not the proxy's 503: the app answered.
const progressScript = `(function () {
"use strict";
var root = document.getElementById("wake");
var steps = root.querySelectorAll("[data-step]");
var elapsed = document.getElementById("elapsed");
var failure = document.getElementById("failure");
var error = document.getElementById("error");
var verb = document.getElementById("verb");
var status = document.getElementById("status");
var rule = document.getElementById("rule").textContent;
var every = Number(root.getAttribute("data-poll")) || 2000;
var retry = Math.max(every, (Number(root.getAttribute("data-retry")) || 5) * 1000);
var base = Date.now() - (Number(root.getAttribute("data-elapsed")) || 0) * 1000;
function two(n) { return (n < 10 ? "0" : "") + n; }
function tick() {
  var s = Math.max(0, Math.floor((Date.now() - base) / 1000));
  var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
  elapsed.textContent = (h ? h + ":" + two(m) : m) + ":" + two(s % 60);
}
function show(phase, err) {
  var failed = phase === "failed", at = 0, i;
  for (i = 0; i < steps.length; i++) {
    if (steps[i].getAttribute("data-step") === phase) { at = i; }
  }
  root.setAttribute("data-phase", failed ? "failed" : steps[at].getAttribute("data-step"));
  for (i = 0; i < steps.length; i++) {
    var state = failed || i > at ? "todo" : (i < at ? "done" : "active");
    steps[i].className = "step " + state;
    if (state === "active") { steps[i].setAttribute("aria-current", "step"); } else { steps[i].removeAttribute("aria-current"); }
    steps[i].querySelector(".sr").textContent = state === "done" ? " (done)" : (state === "active" ? " (in progress)" : "");
  }
  failure.hidden = !failed;
  if (failed) { error.textContent = err || "The wake did not complete."; }
  verb.textContent = failed ? "Could not start" : "Starting";
  document.title = verb.textContent + " " + rule + " \u00b7 autostop";
  status.textContent = failed ? "The wake failed." :
    "Step " + (at + 1) + " of " + steps.length + ": " + steps[at].querySelector(".label").textContent;
}
function later() {
  setTimeout(poll, root.getAttribute("data-phase") === "failed" ? retry : every);
}
function poll() {
  fetch(location.href, {headers: {"X-Autostop-Poll": "1"}, cache: "no-store", credentials: "same-origin"})
    .then(function (r) {
      if (r.status !== 503 || !r.headers.get("X-Autostop")) { location.reload(); return; }
      return r.json().then(function (s) {
        show(String(s.phase), s.error ? String(s.error) : "");
        if (typeof s.elapsedSeconds === "number") { base = Date.now() - s.elapsedSeconds * 1000; }
        tick();
        later();
      });
    })
    .catch(later);
}
tick();
setInterval(tick, 1000);
later();
})();`

// progressLogo is the brand mark: a power symbol on a rounded square.
const progressLogo = `<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><rect width="24" height="24" rx="6" fill="currentColor"/><path d="M12 6.5v5.5M8.6 8.6a5 5 0 1 0 6.8 0" fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round"/></svg>`

// progressIcon is the favicon, inline so the browser fetches none.
const progressIcon = `data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'%3E%3Crect width='24' height='24' rx='6' fill='%232563eb'/%3E%3Cpath d='M12 6.5v5.5M8.6 8.6a5 5 0 1 0 6.8 0' fill='none' stroke='%23fff' stroke-width='2' stroke-linecap='round'/%3E%3C/svg%3E`

// progressCSP is the page's Content-Security-Policy: nothing but its own
// style and script, data: images (the favicon) and polls to its origin.
var progressCSP = "default-src 'none'; style-src " + cspHash(progressStyle) +
	"; script-src " + cspHash(progressScript) +
	"; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// cspHash is the CSP source allowing an inline element with this content.
func cspHash(content string) string {
	sum := sha256.Sum256([]byte(content))

	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
