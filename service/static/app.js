// Live progress: poll GET /sweeps (same-origin; the browser cookie authenticates reads) and redraw rows.
"use strict";
const FINAL = new Set(["done", "cancelled", "stopped"]);

function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

function link(href, text) { const a = document.createElement("a"); a.href = href; a.textContent = text; return a; }

function row(s) {
  const tr = document.createElement("tr");
  tr.id = "sweep-" + s.id;
  tr.className = "state-" + s.state;
  const name = document.createElement("td");
  name.appendChild(link(s.links.self, s.name));
  name.appendChild(document.createTextNode(" (" + s.id + ")"));
  tr.appendChild(name);
  tr.appendChild(cell(s.owner));
  tr.appendChild(cell(s.state));
  const prog = document.createElement("td");
  const bar = document.createElement("span"); bar.className = "bar";
  const fill = document.createElement("div"); fill.style.width = (100 * s.progress).toFixed(1) + "%";
  bar.appendChild(fill); prog.appendChild(bar);
  const pct = document.createElement("span"); pct.className = "pct";
  pct.textContent = " " + Math.round(100 * s.progress) + "%";
  prog.appendChild(pct);
  prog.dataset.progress = s.progress;
  tr.appendChild(prog);
  const c = s.counts;
  const runs = cell((c.done || 0) + (c.reused || 0) + (c.diverged || 0) + "/" + s.n_runs +
                    (c.failed ? " (" + c.failed + " failed)" : ""));
  if (c.failed) runs.className = "failed";
  tr.appendChild(runs);
  tr.appendChild(cell(s.eta_s == null ? "" : Math.round(s.eta_s) + " s"));
  const links = document.createElement("td");
  links.appendChild(link(s.links.csv, "csv")); links.appendChild(document.createTextNode(" "));
  links.appendChild(link(s.links.results, "json")); links.appendChild(document.createTextNode(" "));
  links.appendChild(link(s.links.rates, "rates")); links.appendChild(document.createTextNode(" "));
  links.appendChild(link(s.links.weights, "weights"));
  tr.appendChild(links);
  return tr;
}

async function refresh() {
  try {
    const r = await fetch("/sweeps?limit=200", { credentials: "same-origin" });
    if (!r.ok) return;
    const page = await r.json();
    const body = document.querySelector("#sweeps tbody");
    body.replaceChildren(...page.data.map(row));
    document.getElementById("count").textContent = page.count + " sweeps";
  } catch (e) { /* server restarting: keep the last view */ }
}

refresh();
setInterval(refresh, 2000);
