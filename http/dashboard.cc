// GET /dashboard: a small live page for operators. It is static HTML with
// inline CSS and script (no network beyond this server): every two seconds
// it reads /metrics, which is open like /healthz, and shows the rates and
// latencies derived from the counters and the item/user drift PSI, so it
// needs no key and exposes nothing /metrics does not.
#include <boost/beast/http/field.hpp>

#include "http/api_internal.h"

namespace streamrec::http::internal {
namespace {

constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>streamrec</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 4px} .sub{color:#666;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:20px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:130px}
.card .v{font-size:22px;font-weight:600} .card .k{color:#666;font-size:12px}
table{border-collapse:collapse;background:#fff;border:1px solid #ddd}
th,td{padding:5px 10px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left} th{background:#f0f0f0}
svg{background:#fff;border:1px solid #ddd;border-radius:6px}
.err{color:#b00}
</style></head><body>
<h1>streamrec</h1><div class="sub" id="sub">connecting&hellip;</div>
<div class="cards" id="cards"></div>
<svg id="chart" width="720" height="140"></svg>
<h2 style="font-size:16px">Requests (last interval)</h2>
<table><thead><tr><th>route</th><th>method</th><th>req/s</th><th>p50 ms</th><th>p99 ms</th>
<th>errors/s</th><th>total</th></tr></thead><tbody id="routes"></tbody></table>
<script>
"use strict";
let prev = null, prevT = 0;
const history = [];
function parse(text) {
  const m = new Map();
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const sp = line.lastIndexOf(" ");
    m.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return m;
}
function labels(key) {
  const out = {}, i = key.indexOf("{");
  if (i < 0) return out;
  for (const part of key.slice(i + 1, -1).match(/[a-z_]+="[^"]*"/g) || []) {
    const eq = part.indexOf("=");
    out[part.slice(0, eq)] = part.slice(eq + 2, -1);
  }
  return out;
}
function quantile(buckets, q) {  // buckets: [[le, count]] cumulative deltas
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (total <= 0) return null;
  for (const [le, c] of buckets) if (c >= q * total) return le;
  return Infinity;
}
const fmt = (x, d = 1) => x === null || isNaN(x) ? "–" : !isFinite(x) ? "&gt;2500" :
    x >= 1e6 ? (x / 1e6).toFixed(2) + "M" : x >= 1e4 ? (x / 1e3).toFixed(1) + "k" : x.toFixed(d);
// PSI of a drift dimension: "off" when the server reports no drift,
// "building" while its reference is still filling.
function driftPsi(m, d) {
  const v = m.get(`streamrec_drift_psi{dimension="${d}"}`);
  if (v === undefined) return "off";
  return m.get("streamrec_drift_reference_frozen") ? fmt(v, 3) : "building";
}
function card(k, v) { return `<div class="card"><div class="v">${v}</div><div class="k">${k}</div></div>`; }
function draw() {
  const svg = document.getElementById("chart"), W = 720, H = 140, P = 30;
  const max = Math.max(1, ...history.map(h => Math.max(h.events, h.reqs)));
  const line = key => history.map((h, i) =>
      `${P + i * (W - 2 * P) / 59},${H - P + 10 - (H - P) * h[key] / max}`).join(" ");
  svg.innerHTML = `<text x="${P}" y="16" font-size="12">events/s (blue) and requests/s (orange), max ${fmt(max)}</text>` +
      `<line x1="${P}" y1="${H - 20}" x2="${W - P}" y2="${H - 20}" stroke="#ccc"/>` +
      `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${line("events")}"/>` +
      `<polyline fill="none" stroke="#ff7f0e" stroke-width="2" points="${line("reqs")}"/>`;
}
async function tick() {
  let text;
  try {
    const r = await fetch("/metrics", {cache: "no-store"});
    text = await r.text();
  } catch (e) {
    document.getElementById("sub").innerHTML = `<span class="err">cannot reach the server: ${e}</span>`;
    return;
  }
  const now = performance.now() / 1000, m = parse(text);
  const g = name => m.get(name), drift = d => driftPsi(m, d);
  const dt = prev ? now - prevT : 0;
  const rate = name => prev && dt > 0 ? (g(name) - (prev.get(name) || 0)) / dt : null;
  document.getElementById("sub").textContent =
      `up ${fmt(g("streamrec_uptime_seconds"), 0)} s · refreshed ${new Date().toLocaleTimeString()}`;
  document.getElementById("cards").innerHTML =
      card("events/s applied", fmt(rate("streamrec_events_applied_total"))) +
      card("events applied", fmt(g("streamrec_events_applied_total"), 0)) +
      card("log seq", fmt(g("streamrec_log_seq"), 0)) +
      card("pending events", fmt(g("streamrec_pending_events"), 0)) +
      card("users", fmt(g("streamrec_model_users"), 0)) +
      card("items", fmt(g("streamrec_model_items"), 0)) +
      card("model MB", fmt(g("streamrec_model_bytes") / 1048576, 1)) +
      card("snapshot age s", g("streamrec_snapshot_age_seconds") < 0 ? "none" : fmt(g("streamrec_snapshot_age_seconds"), 0)) +
      card("retrain running", g("streamrec_retrain_running") ? "yes" : "no") +
      card("item drift PSI", drift("item")) + card("user drift PSI", drift("user"));
  const routes = new Map();
  let reqs = 0;
  for (const [key, v] of m) {
    const l = labels(key), name = key.split("{")[0];
    if (!l.route) continue;
    const id = l.route + " " + (l.method || "");
    if (!routes.has(id)) routes.set(id, {route: l.route, method: l.method || "", total: 0, rate: 0, errors: 0, buckets: []});
    const r = routes.get(id), d = prev ? v - (prev.get(key) || 0) : 0;
    if (name === "streamrec_http_requests_total") {
      r.total += v;
      if (dt > 0) { r.rate += d / dt; reqs += d / dt; if (Number(l.status) >= 400) r.errors += d / dt; }
    } else if (name === "streamrec_http_request_duration_seconds_bucket") {
      r.buckets.push([l.le === "+Inf" ? Infinity : Number(l.le), d]);
    }
  }
  let rows = "";
  for (const r of [...routes.values()].sort((a, b) => b.total - a.total)) {
    r.buckets.sort((a, b) => a[0] - b[0]);
    const p50 = quantile(r.buckets, 0.5), p99 = quantile(r.buckets, 0.99);
    rows += `<tr><td>${r.route.replace(/[<&]/g, "")}</td><td>${r.method}</td><td>${fmt(r.rate)}</td>` +
        `<td>${p50 === null ? "–" : fmt(p50 * 1000, 2)}</td><td>${p99 === null ? "–" : fmt(p99 * 1000, 2)}</td>` +
        `<td>${fmt(r.errors)}</td><td>${fmt(r.total, 0)}</td></tr>`;
  }
  document.getElementById("routes").innerHTML = rows;
  if (prev) {
    history.push({events: rate("streamrec_events_applied_total") || 0, reqs});
    if (history.length > 60) history.shift();
    draw();
  }
  prev = m; prevT = now;
}
tick();
setInterval(tick, 2000);
</script></body></html>
)HTML";

}  // namespace

void GetDashboard(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  Response res{boost::beast::http::status::ok, c.reply.version()};
  res.set(boost::beast::http::field::content_type, "text/html; charset=utf-8");
  // The page runs only its own inline script and talks only to this host.
  res.set("Content-Security-Policy",
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
          "connect-src 'self'");
  res.keep_alive(c.reply.keep_alive());
  res.body() = std::string(kPage);
  res.prepare_payload();
  c.reply.Send(std::move(res));
}

}  // namespace streamrec::http::internal
