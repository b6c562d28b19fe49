// The submit page: validate the definition as the user types (POST /sweeps/validate, nothing created),
// show errors at their line and field, preview runs / reuse / cost, then POST /sweeps.
"use strict";
(() => {
  const { api, el, badge, num } = PBN;
  const text = document.getElementById("definition");
  const gutter = document.getElementById("gutter");
  const errors = document.getElementById("errors");
  const preview = document.getElementById("preview");
  const submit = document.getElementById("submit");
  let checked = null;  // the last preview, valid for the text it was computed from
  let timer = null;
  let seq = 0;

  function drawGutter(badLine) {
    const n = text.value.split("\n").length;
    gutter.replaceChildren(...Array.from({ length: n }, (_, i) =>
      el("span", { class: i + 1 === badLine ? "bad" : "" }, String(i + 1) + "\n")));
    gutter.scrollTop = text.scrollTop;
  }

  // the 1-based line where a dotted field ("grid.N", "base.T") is written, or null
  function lineOf(field) {
    const lines = text.value.split("\n");
    let from = 0, indent = -1, found = null;
    for (const part of String(field).split(/[.\[\]]/).filter(Boolean)) {
      const key = new RegExp("^(\\s*)(-\\s+)?[\"']?" + part.replace(/[^\w]/g, "\\$&") + "[\"']?\\s*:");
      let hit = null;
      for (let i = from; i < lines.length; i++) {
        const m = lines[i].match(key);
        if (m && m[1].length > indent) { hit = i; indent = m[1].length; break; }
      }
      if (hit === null) break;
      found = hit + 1; from = hit + 1;
    }
    return found;
  }

  function showErrors(err) {
    const detail = Array.isArray(err.detail) ? err.detail : [{ loc: [], msg: String(err.message) }];
    errors.replaceChildren();
    let first = null;
    for (const d of detail) {
      const field = (d.loc || []).filter((x) => x !== "body").join(".") || "definition";
      const m = /line (\d+)/.exec(d.msg || "");
      const line = m ? Number(m[1]) : lineOf(field);
      if (first === null) first = line;
      errors.append(el("div", { class: "error", "data-field": field },
        el("span", { class: "where" }, (line ? "line " + line + " · " : "") + field), " ", d.msg));
    }
    drawGutter(first);
  }

  function showPreview(p) {
    const axes = Object.entries(p.axes).map(([k, vals]) => el("tr", {}, el("th", {}, k),
      el("td", { class: "mono" }, vals.map((x) => JSON.stringify(x)).join(", "))));
    const runs = p.runs.map((r) => el("tr", {}, el("td", {}, r.index),
      el("td", { class: "mono" }, Object.entries(r.point).map(([k, x]) => k + "=" + JSON.stringify(x)).join(" ")),
      el("td", {}, r.replicate), el("td", {}, badge(r.action, r.action === "reuse" ? "reused" : "pending")),
      el("td", { class: "muted small" }, r.reason)));
    preview.replaceChildren(
      el("div", { class: "stats" },
        el("div", { class: "stat", id: "n-runs" }, el("b", {}, p.n_runs), "runs"),
        el("div", { class: "stat", id: "n-reused" }, el("b", {}, p.n_reused), "reused"),
        el("div", { class: "stat", id: "n-to-run" }, el("b", {}, p.n_to_run), "to compute"),
        el("div", { class: "stat", id: "cost" }, el("b", {}, num(p.neuron_seconds_to_run)), "neuron·s to compute")),
      el("p", { class: "muted small" }, "Cost in neuron-seconds (N·T summed over runs), the unit of the server's limits and quota; " +
        num(p.neuron_seconds) + " in all."),
      el("h3", {}, "Swept parameters"), el("table", { class: "table compact" }, el("tbody", {}, ...axes)),
      el("h3", {}, "Runs" + (p.runs.length < p.n_runs ? " (first " + p.runs.length + ")" : "")),
      el("div", { class: "scroll short" }, el("table", { class: "table compact", id: "plan" },
        el("thead", {}, el("tr", {}, ...["run", "point", "rep.", "action", "why"].map((h) => el("th", {}, h)))),
        el("tbody", {}, ...runs))));
  }

  async function validate() {
    const mine = ++seq;
    const body = text.value;
    try {
      const p = await api("/sweeps/validate", { method: "POST", headers: { "Content-Type": "text/yaml" }, body });
      if (mine !== seq) return;
      checked = { body, preview: p };
      errors.replaceChildren(); drawGutter(null); showPreview(p); preview.classList.remove("stale");
      submit.disabled = false;
      submit.textContent = "Submit " + p.n_runs + " runs";
    } catch (err) {
      if (mine !== seq) return;
      checked = null; submit.disabled = true; submit.textContent = "Submit sweep";
      preview.classList.add("stale");
      showErrors(err);
    }
  }

  function schedule() { drawGutter(null); submit.disabled = true; clearTimeout(timer); timer = setTimeout(validate, 300); }

  text.addEventListener("input", schedule);
  text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });
  document.getElementById("file").addEventListener("change", async (ev) => {
    const f = ev.target.files[0];
    if (f) { text.value = await f.text(); schedule(); }
  });
  submit.addEventListener("click", async () => {
    if (!checked || checked.body !== text.value) return;
    submit.disabled = true;
    try {
      const created = await api("/sweeps", { method: "POST", headers: { "Content-Type": "application/json" },
                                            body: JSON.stringify(checked.preview.definition) });
      location.href = "/ui/sweeps/" + encodeURIComponent(created.id);
    } catch (err) {
      document.getElementById("submit-error").textContent = "Not submitted: " + err.message;
      submit.disabled = false;
    }
  });
  drawGutter(null);
  validate();
})();
