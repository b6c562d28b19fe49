// The run page: the recorded mean input currents as a small SVG chart (rates and weights are PNGs).
"use strict";
(() => {
  const { api, el } = PBN;
  const box = document.getElementById("currents");
  const { id, index } = document.getElementById("run").dataset;
  const NS = "http://www.w3.org/2000/svg";
  const LINES = [["current_e_mean", "E input", "#d62728"], ["current_i_mean", "I input", "#1f77b4"],
                 ["current_x_mean", "X input", "#7f7f7f"]];

  function svg(tag, attrs) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    return n;
  }

  function chart(t, series) {
    const W = 700, H = 300, L = 60, R = 110, T = 12, B = 36;
    const pts = series.flatMap(([, , , ys]) => ys.filter((y) => y !== null));
    const x0 = t[0], x1 = t[t.length - 1];
    let y0 = Math.min(0, ...pts), y1 = Math.max(0, ...pts);
    if (y1 === y0) y1 = y0 + 1;
    const X = (x) => L + (W - L - R) * (x - x0) / ((x1 - x0) || 1), Y = (y) => T + (H - T - B) * (y1 - y) / (y1 - y0);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": "mean input currents" });
    root.append(svg("line", { x1: L, x2: W - R, y1: Y(0), y2: Y(0), class: "zero" }));
    for (const f of [0, 0.5, 1]) {
      const yv = y0 + f * (y1 - y0);
      const lab = svg("text", { x: L - 6, y: Y(yv) + 4, class: "tick", "text-anchor": "end" }); lab.textContent = yv.toPrecision(3);
      root.append(lab);
    }
    for (const f of [0, 0.5, 1]) {
      const xv = x0 + f * (x1 - x0);
      const lab = svg("text", { x: X(xv), y: H - B + 16, class: "tick", "text-anchor": "middle" }); lab.textContent = Math.round(xv);
      root.append(lab);
    }
    const xl = svg("text", { x: (L + W - R) / 2, y: H - 4, class: "axis", "text-anchor": "middle" }); xl.textContent = "time (ms)";
    const yl = svg("text", { x: 14, y: (T + H - B) / 2, class: "axis", transform: `rotate(-90 14 ${(T + H - B) / 2})`, "text-anchor": "middle" });
    yl.textContent = "mean input (mV/ms)";
    root.append(xl, yl, svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B, class: "frame" }));
    series.forEach(([, label, color, ys], k) => {
      const d = ys.map((y, i) => (y === null ? null : (X(t[i]).toFixed(1) + "," + Y(y).toFixed(1)))).filter(Boolean);
      root.append(svg("polyline", { points: d.join(" "), fill: "none", stroke: color, "stroke-width": 1.6 }));
      const ly = T + 14 + 18 * k;
      root.append(svg("line", { x1: W - R + 10, x2: W - R + 30, y1: ly - 4, y2: ly - 4, stroke: color, "stroke-width": 2 }));
      const lt = svg("text", { x: W - R + 36, y: ly, class: "legend" }); lt.textContent = label; root.append(lt);
    });
    return root;
  }

  api("/sweeps/" + encodeURIComponent(id) + "/runs/" + index).then((run) => {
    const t = run.series.time_ms;
    const series = LINES.filter(([k]) => run.series[k]).map(([k, label, color]) => [k, label, color, run.series[k]]);
    if (!t || !series.length) { box.replaceChildren(el("p", { class: "muted" }, "No currents recorded for this run.")); return; }
    box.replaceChildren(chart(t, series));
  }).catch((e) => box.replaceChildren(el("p", { class: "muted" }, "Currents not available: " + e.message)));
})();
