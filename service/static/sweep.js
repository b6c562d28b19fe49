// The sweep page: live progress until the sweep settles, problems per run, cancel, summary plot against any
// swept parameter, and the results table (sortable; each row opens its run).
"use strict";
(() => {
  const { api, el, badge, badges, bar, chips, num, finishedLabel, settled } = PBN;
  const id = document.getElementById("sweep").dataset.id;
  const base = "/sweeps/" + encodeURIComponent(id);
  const cancel = document.getElementById("cancel");
  const statSel = document.getElementById("stat"), xSel = document.getElementById("x");
  const img = document.getElementById("summary-plot");
  let rows = [], columns = [], swept = [], sortKey = "index", sortDir = 1, version = "";

  function showStatus(s) {
    document.getElementById("state").replaceChildren(...badges(s));
    document.getElementById("bar").replaceChildren(bar(s.counts, s.n_runs));
    document.getElementById("counts").replaceChildren(...chips(s.counts),
      el("span", { class: "chip" }, finishedLabel(s.counts, s.n_runs)));
    document.getElementById("eta").textContent = s.eta_s == null ? "" : "about " + Math.round(s.eta_s) + " s to go";
    cancel.disabled = settled(s);
    if (s.dashboard_url) document.getElementById("sweep-dashboard").href = s.dashboard_url;
  }

  function pickColumns(table) {
    const names = table.length ? Object.keys(table[0]) : [];
    const from = names.indexOf("error") + 1, to = names.indexOf("replicate");
    swept = from > 0 && to > from ? names.slice(from, to) : [];
    const measured = names.filter((k) => names.includes("theory_" + k));
    const cols = ["index", "status", ...swept, "replicate"];
    for (const k of measured) cols.push(k, "theory_" + k);
    for (const k of ["wall_s", "reused_from"]) if (names.includes(k)) cols.push(k);
    return { cols, measured, numeric: names.filter((k) => table.some((r) => typeof r[k] === "number")) };
  }

  function fillSelect(sel, values, keep) {
    if (sel.options.length === values.length) return;
    sel.replaceChildren(...values.map((v) => el("option", { value: v }, v)));
    if (values.includes(keep)) sel.value = keep;
  }

  function drawPlot() {
    if (!statSel.value) return;
    const q = new URLSearchParams({ stat: statSel.value, v: version });
    if (xSel.value) q.set("x", xSel.value);
    img.src = base + "/plots/summary.png?" + q;
  }

  function compare(a, b) {
    const x = a[sortKey], y = b[sortKey];
    if (x === y) return 0;
    if (x === null || x === undefined || x === "") return 1;
    if (y === null || y === undefined || y === "") return -1;
    return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * sortDir;
  }

  function drawTable() {
    const table = document.getElementById("results");
    const head = el("tr", {}, ...columns.map((c) => el("th", { "data-key": c, class: c === sortKey ? (sortDir > 0 ? "asc" : "desc") : "",
      title: "sort by " + c }, c.replace(/^theory_/, "theory "))));
    table.tHead.replaceChildren(head);
    const sorted = [...rows].sort(compare);
    table.tBodies[0].replaceChildren(...sorted.map((r) => el("tr", { class: "st-" + r.status, "data-index": r.index },
      ...columns.map((c) => {
        if (c === "index") return el("td", {}, el("a", { href: "/ui/sweeps/" + encodeURIComponent(id) + "/runs/" + r.index }, r.index));
        if (c === "status") return el("td", {}, badge(r.status, r.status));
        return el("td", { class: c.startsWith("theory_") ? "theory" : "" }, num(r[c]));
      }))));
  }

  function drawProblems() {
    const bad = rows.filter((r) => (r.status === "failed" || r.status === "diverged") && r.error);
    document.getElementById("problems-card").hidden = bad.length === 0;
    document.getElementById("problems").replaceChildren(...bad.slice(0, 100).map((r) => el("li", { class: "s-" + r.status },
      el("a", { href: "/ui/sweeps/" + encodeURIComponent(id) + "/runs/" + r.index }, "run " + r.index), " ",
      el("span", { class: "muted" }, swept.map((k) => k + "=" + num(r[k])).join(" ")), " ",
      badge(r.status, r.status), " ", el("span", { class: "msg" }, r.error))));
  }

  async function loadResults() {
    rows = await api(base + "/results");
    const pick = pickColumns(rows);
    columns = pick.cols;
    fillSelect(statSel, [...pick.measured, ...pick.numeric.filter((k) => !pick.measured.includes(k) &&
      !k.startsWith("theory_") && !swept.includes(k) && !["index", "seed", "replicate", "attempt"].includes(k))], "rate_e_hz");
    fillSelect(xSel, swept, swept[0]);
    drawTable(); drawProblems(); drawPlot();
  }

  async function poll() {
    try {
      const s = await api(base);
      showStatus(s);
      const v = JSON.stringify(s.counts);
      if (v !== version) { version = v; await loadResults(); }
      if (settled(s)) return;
    } catch (e) { /* keep the last view; try again */ }
    setTimeout(poll, 1500);
  }

  document.getElementById("results").tHead.addEventListener("click", (ev) => {
    const key = ev.target.dataset && ev.target.dataset.key;
    if (!key) return;
    sortDir = key === sortKey ? -sortDir : 1; sortKey = key; drawTable();
  });
  statSel.addEventListener("change", drawPlot);
  xSel.addEventListener("change", drawPlot);
  img.addEventListener("error", () => { img.alt = "no summary plot yet (no finished runs with this statistic)"; });
  cancel.addEventListener("click", async () => {
    if (!confirm("Cancel the pending runs of " + id + "? Finished runs stay.")) return;
    cancel.disabled = true;
    try { await api(base, { method: "DELETE" }); } catch (e) { alert("Not cancelled: " + e.message); }
    setTimeout(poll, 0);
  });
  poll();
})();
