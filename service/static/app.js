// Shared helpers of the web app: same-origin calls to the REST API, and small DOM builders.
"use strict";
const PBN = (() => {
  const ORDER = ["done", "reused", "diverged", "failed", "cancelled", "running", "pending"];
  const FINAL = new Set(["done", "cancelled", "stopped"]);

  class ApiError extends Error {
    constructor(status, detail) {
      super(Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : String(detail));
      this.status = status;
      this.detail = detail;
    }
  }

  // fetch JSON from the API; the browser's cookie signs the call, the header allows writes by cookie
  async function api(path, options = {}) {
    const headers = { "X-PBN-Web": "1", ...(options.headers || {}) };
    const r = await fetch(path, { credentials: "same-origin", ...options, headers });
    const text = await r.text();
    let body = text;
    try { body = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
    if (!r.ok) throw new ApiError(r.status, body && body.detail !== undefined ? body.detail : text);
    return body;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function badge(text, status) { return el("span", { class: "badge state-" + status }, text); }

  function badges(s) {
    const out = [badge(s.state, s.state)];
    for (const k of ["failed", "diverged"]) if (s.counts[k]) out.push(" ", badge(s.counts[k] + " " + k, k));
    return out;
  }

  function bar(counts, n) {
    const b = el("span", { class: "bar", role: "img", "aria-label": finishedLabel(counts, n) });
    for (const k of ORDER) {
      if (!counts[k] || !n) continue;
      b.append(el("span", { class: "seg s-" + k, style: "width:" + (100 * counts[k] / n).toFixed(3) + "%",
                            title: counts[k] + " " + k }));
    }
    return b;
  }

  function finishedLabel(c, n) {
    return ((c.done || 0) + (c.reused || 0) + (c.diverged || 0)) + "/" + n + " with results";
  }

  function chips(counts) {
    return ORDER.filter((k) => counts[k]).map((k) => el("span", { class: "chip s-" + k }, el("b", {}, counts[k]), " " + k));
  }

  function num(x) {
    if (x === null || x === undefined || (typeof x === "number" && !isFinite(x))) return "—";
    if (typeof x !== "number") return String(x);
    if (Number.isInteger(x)) return String(x);
    return Number(x.toPrecision(4)).toString();
  }

  function settled(s) { return FINAL.has(s.state) && !s.counts.pending && !s.counts.running; }

  return { api, ApiError, el, badge, badges, bar, chips, num, finishedLabel, settled, ORDER, FINAL };
})();
