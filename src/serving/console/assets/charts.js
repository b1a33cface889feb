// Line charts in plain SVG: no library, no network. LineChart(title, unit,
// series, opts) returns an <svg class="chart"> with one <polyline> per
// series (data-points = how many points it draws) and its axes; series is
// [{name, color, points: [[t_ms, value], ...]}].
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#1f5fbf", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#5c940d"];

  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fmt(v) {
    if (Math.abs(v) >= 100) return v.toFixed(0);
    if (Math.abs(v) >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }

  function LineChart(title, series, opts) {
    opts = opts || {};
    const W = 480, H = 220, L = 44, R = 12, T = 26, B = 28;
    const svg = el("svg", {class: "chart", viewBox: `0 0 ${W} ${H}`,
                           role: "img", "aria-label": title,
                           "data-series": series.length});
    svg.appendChild(el("text", {x: L, y: 16, class: "title"}, title));
    const all = series.flatMap((s) => s.points);
    let t0 = Math.min(...all.map((p) => p[0]));
    let t1 = Math.max(...all.map((p) => p[0]));
    if (!all.length) { t0 = Date.now() - 60000; t1 = Date.now(); }
    if (t1 - t0 < 1000) t0 = t1 - 1000;
    let y0 = opts.min !== undefined ? opts.min : Math.min(0, ...all.map((p) => p[1]));
    let y1 = opts.max !== undefined ? opts.max : Math.max(1e-9, ...all.map((p) => p[1]));
    if (opts.max === undefined) y1 = y1 * 1.1;
    const x = (t) => L + (W - L - R) * (t - t0) / (t1 - t0);
    const y = (v) => T + (H - T - B) * (1 - (v - y0) / (y1 - y0 || 1));
    for (let i = 0; i <= 4; i++) {
      const v = y0 + (y1 - y0) * i / 4;
      svg.appendChild(el("line", {class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v)}));
      svg.appendChild(el("text", {x: L - 4, y: y(v) + 4, "text-anchor": "end"}, fmt(v)));
    }
    svg.appendChild(el("line", {class: "axis", x1: L, x2: L, y1: T, y2: H - B}));
    svg.appendChild(el("line", {class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B}));
    const span = Math.round((t1 - t0) / 1000);
    svg.appendChild(el("text", {x: L, y: H - 8}, `-${span} s`));
    svg.appendChild(el("text", {x: W - R, y: H - 8, "text-anchor": "end"}, "now"));
    if (!all.length) {
      svg.appendChild(el("text", {x: W / 2, y: H / 2, "text-anchor": "middle"},
                          opts.empty || "no data yet"));
    }
    series.forEach((s, i) => {
      const color = s.color || PALETTE[i % PALETTE.length];
      const pts = s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`);
      svg.appendChild(el("polyline", {points: pts.join(" "), stroke: color,
                                      "data-series": s.name,
                                      "data-points": s.points.length}));
      if (s.points.length === 1) {
        const p = s.points[0];
        svg.appendChild(el("circle", {cx: x(p[0]), cy: y(p[1]), r: 3, fill: color}));
      }
    });
    return svg;
  }

  function Legend(series) {
    const div = document.createElement("div");
    div.className = "legend";
    series.forEach((s, i) => {
      const item = document.createElement("span");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = s.color || PALETTE[i % PALETTE.length];
      item.appendChild(sw);
      item.appendChild(document.createTextNode(s.name));
      div.appendChild(item);
    });
    return div;
  }

  window.Charts = {LineChart, Legend, PALETTE};
})();
