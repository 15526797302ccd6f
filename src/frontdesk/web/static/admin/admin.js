// Frontdesk admin dashboard. Charts are inline SVG built with DOM APIs; all text goes
// through textContent / SVG text nodes, never HTML.

const KEY_STORAGE = "frontdesk:admin-key";
const SVG = "http://www.w3.org/2000/svg";
const W = 560;
const H = 220;
const PAD = { top: 12, right: 12, bottom: 28, left: 48 };

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem(KEY_STORAGE) || "" };

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${state.key}`, Accept: "application/json" } });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const message = (data && data.error && data.error.message) || `HTTP ${res.status}`;
    throw new ApiError(res.status, message);
  }
  return data;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

const fmtInt = (n) => Number(n || 0).toLocaleString("en-US");
const fmtMoney = (s, scale) => {
  const n = Number(s || 0);
  const size = scale || n;
  if (n === 0) return "$0.00";
  return `$${n.toFixed(size >= 1 ? 2 : size >= 0.01 ? 4 : 6)}`;
};
const fmtDay = (iso) => {
  const [, m, d] = iso.split("-");
  return `${Number(m)}/${Number(d)}`;
};

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

// A count axis whose four gridline steps are whole numbers.
function countMax(value) {
  if (value <= 12) return Math.max(4, Math.ceil(value / 4) * 4);
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1.2, 2, 4, 6, 8, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

// --- chart primitives --------------------------------------------------------

function frame(label, max, format) {
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
  root.append(svg("title", {}, label));
  const innerH = H - PAD.top - PAD.bottom;
  for (let i = 0; i <= 4; i += 1) {
    const y = PAD.top + innerH - (innerH * i) / 4;
    root.append(svg("line", { class: "ad-gridline", x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }));
    root.append(svg("text", { class: "ad-axis", x: PAD.left - 6, y: y + 4, "text-anchor": "end" }, format((max * i) / 4)));
  }
  return root;
}

function xLabels(root, days, xAt) {
  const every = Math.max(1, Math.ceil(days.length / 7));
  days.forEach((day, i) => {
    const last = i === days.length - 1;
    if (!last && (i % every !== 0 || days.length - 1 - i < every)) return;
    root.append(svg("text", { class: "ad-axis", x: xAt(i), y: H - 8, "text-anchor": "middle" }, fmtDay(day.date)));
  });
}

function barChart(days) {
  const max = countMax(Math.max(0, ...days.map((d) => d.turns)));
  const root = frame("Turns per day", max, (v) => fmtInt(v));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const slot = innerW / days.length;
  const barW = Math.max(2, slot * 0.62);
  const xAt = (i) => PAD.left + slot * i + slot / 2;
  days.forEach((day, i) => {
    const h = (innerH * day.turns) / max;
    const bad = ((day.failed + day.partial) * innerH) / max;
    const x = xAt(i) - barW / 2;
    const bar = svg("rect", { class: "ad-bar", x, y: PAD.top + innerH - h, width: barW, height: h, rx: 3 });
    bar.append(svg("title", {}, `${day.date}: ${day.turns} turns, ${day.failed} failed, ${day.partial} partial`));
    root.append(bar);
    if (bad > 0) root.append(svg("rect", { class: "ad-bar--bad", x, y: PAD.top + innerH - bad, width: barW, height: bad }));
  });
  xLabels(root, days, xAt);
  return [root, legend([["brand", "Turns"], ["bad", "Failed or partial"]])];
}

function lineChart(days, series, label, format, scale) {
  const values = series.flatMap((s) => days.map((d) => s.value(d)).filter((v) => v !== null));
  const max = scale(Math.max(0, ...values));
  const root = frame(label, max, (v) => format(v, max));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const xAt = (i) => PAD.left + (days.length === 1 ? innerW / 2 : (innerW * i) / (days.length - 1));
  const yAt = (v) => PAD.top + innerH - (innerH * v) / max;
  for (const s of series) {
    const points = days.map((d, i) => [i, s.value(d)]).filter(([, v]) => v !== null);
    if (!points.length) continue;
    const path = points.map(([i, v], n) => `${n ? "L" : "M"}${xAt(i).toFixed(1)},${yAt(v).toFixed(1)}`).join(" ");
    if (s.area) {
      const [first] = points;
      const last = points[points.length - 1];
      const base = PAD.top + innerH;
      root.append(svg("path", { class: "ad-area", d: `${path} L${xAt(last[0]).toFixed(1)},${base} L${xAt(first[0]).toFixed(1)},${base} Z` }));
    }
    root.append(svg("path", { class: `ad-line ${s.lineClass || ""}`, d: path }));
    for (const [i, v] of points) {
      const dot = svg("circle", { class: `ad-dot ${s.dotClass || ""}`, cx: xAt(i), cy: yAt(v), r: 3 });
      dot.append(svg("title", {}, `${days[i].date}: ${s.name} ${format(v, 0)}`));
      root.append(dot);
    }
  }
  xLabels(root, days, xAt);
  return [root, legend(series.map((s) => [s.swatch, s.name]))];
}

function feedbackChart(feedback) {
  const total = feedback.up + feedback.down;
  const root = svg("svg", { viewBox: `0 0 ${W} 92`, role: "img", "aria-label": "Feedback" });
  root.append(svg("title", {}, `Feedback: ${feedback.up} up, ${feedback.down} down`));
  const x0 = 8;
  const width = W - 16;
  if (!total) {
    root.append(svg("rect", { class: "ad-empty-bar", x: x0, y: 30, width, height: 28, rx: 8 }));
  } else {
    const upW = (width * feedback.up) / total;
    root.append(svg("rect", { class: "ad-down", x: x0, y: 30, width, height: 28, rx: 8 }));
    if (upW > 0) root.append(svg("rect", { class: "ad-up", x: x0, y: 30, width: upW, height: 28, rx: 8 }));
  }
  const pct = feedback.up_percent === null ? "No ratings yet" : `${feedback.up_percent}% positive`;
  root.append(svg("text", { class: "ad-axis", x: x0, y: 18 }, pct));
  root.append(svg("text", { class: "ad-axis", x: x0, y: 82 }, `${fmtInt(feedback.up)} helpful`));
  root.append(svg("text", { class: "ad-axis", x: x0 + width, y: 82, "text-anchor": "end" }, `${fmtInt(feedback.down)} not helpful`));
  return [root, legend([["good", "Helpful"], ["bad", "Not helpful"]])];
}

function legend(items) {
  const box = el("div", "ad-legend");
  for (const [swatch, name] of items) {
    const item = el("span");
    item.append(el("span", `ad-swatch ad-swatch--${swatch}`), document.createTextNode(name));
    box.append(item);
  }
  return box;
}

function providersChart(list) {
  const max = Math.max(1, ...list.map((p) => p.turns));
  const rows = list.map((p) => {
    const row = el("li", "ad-prov-row");
    const track = svg("svg", { class: "ad-prov-track", viewBox: "0 0 100 10", preserveAspectRatio: "none", "aria-hidden": "true" });
    track.append(svg("rect", { class: "ad-bar", x: 0, y: 0, height: 10, width: (100 * p.turns) / max, rx: 2 }));
    row.append(el("span", "ad-prov-name", p.provider), track, el("span", "ad-prov-count", `${fmtInt(p.turns)} turns`));
    return row;
  });
  if (!rows.length) rows.push(el("li", "ad-empty", "No turns in this range."));
  return rows;
}

// --- rendering ---------------------------------------------------------------

function render(stats) {
  const t = stats.totals;
  $("kpi-conversations").textContent = fmtInt(t.conversations);
  $("kpi-turns").textContent = fmtInt(t.turns);
  $("kpi-turns-sub").textContent = `${fmtInt(t.failed)} failed · ${fmtInt(t.no_answer)} no answer`;
  $("kpi-cost").textContent = fmtMoney(t.cost);
  $("kpi-cost-sub").textContent = `${fmtInt(t.input_tokens)} in · ${fmtInt(t.output_tokens)} out tokens`;
  $("kpi-escalations").textContent = fmtInt(t.escalations);
  const rate = t.turns ? ((100 * t.escalations) / t.turns).toFixed(1) : "0.0";
  $("kpi-escalations-sub").textContent = `${rate}% of turns`;
  const fb = stats.feedback;
  $("kpi-up").textContent = fb.up_percent === null ? "–" : `${fb.up_percent}%`;
  $("kpi-up-sub").textContent = `${fmtInt(fb.up + fb.down)} ratings`;

  const days = stats.days;
  $("chart-turns").replaceChildren(...barChart(days));
  $("chart-cost").replaceChildren(
    ...lineChart(days, [{ name: "Cost", value: (d) => Number(d.cost), area: true, swatch: "brand" }], "Cost per day", fmtMoney, (v) => niceMax(Math.max(0.01, v))),
  );
  const ms = (v) => `${Math.round(v)}`;
  $("chart-ttft").replaceChildren(
    ...lineChart(
      days,
      [
        { name: "p50", value: (d) => d.ttft_p50_ms, swatch: "brand" },
        { name: "p95", value: (d) => d.ttft_p95_ms, swatch: "accent", lineClass: "ad-line--p95", dotClass: "ad-dot--p95" },
      ],
      "Time to first token",
      ms,
      countMax,
    ),
  );
  $("chart-feedback").replaceChildren(...feedbackChart(fb));
  $("ad-providers").replaceChildren(...providersChart(stats.top_providers));
  document.body.dataset.loaded = "1";
}

async function load() {
  const days = $("ad-range").value;
  const stats = await api(`/api/admin/stats?days=${encodeURIComponent(days)}`);
  $("ad-load-error").hidden = true;
  render(stats);
}

function showLoadError(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
    signOut(error.message);
    return;
  }
  $("ad-load-error").textContent = `Could not load the numbers: ${error.message}`;
  $("ad-load-error").hidden = false;
}

async function signIn(key) {
  state.key = key;
  await load();
  sessionStorage.setItem(KEY_STORAGE, key);
  $("ad-login").hidden = true;
  $("ad-who").hidden = false;
  $("ad-main").hidden = false;
}

function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = "";
  delete document.body.dataset.loaded;
  $("ad-main").hidden = true;
  $("ad-who").hidden = true;
  $("ad-login").hidden = false;
  const error = $("ad-login-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("ad-key").focus();
}

function start() {
  $("ad-login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("ad-key").value.trim();
    if (!key) return;
    signIn(key).catch((error) => signOut(error.status === 401 || error.status === 403 ? "That key is not an admin key." : error.message));
  });
  $("ad-logout").addEventListener("click", () => signOut(""));
  $("ad-refresh").addEventListener("click", () => load().catch(showLoadError));
  $("ad-range").addEventListener("change", () => load().catch(showLoadError));
  if (state.key) signIn(state.key).catch(() => signOut(""));
  else signOut("");
}

start();
