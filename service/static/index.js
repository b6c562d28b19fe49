// The sweep list: re-fetch the current (filtered) page every 2 s, so new sweeps and progress show up live.
"use strict";
(() => {
  const params = new URLSearchParams(location.search);
  const query = new URLSearchParams({ q: params.get("q") || "", state: params.get("state") || "",
                                      offset: params.get("offset") || "0" });
  const body = document.querySelector("#sweeps tbody");
  const pager = document.getElementById("pager");
  let shown = body.innerHTML;

  async function refresh() {
    try {
      const page = await PBN.api("/ui/api/sweeps?" + query);
      const html = page.rows.join("\n");
      if (shown !== html) { body.innerHTML = html; shown = html; }
      pager.innerHTML = page.pager;
    } catch (e) { /* server restarting or signed out: keep the last view */ }
  }
  document.querySelector("#filter select").addEventListener("change", (ev) => ev.target.form.submit());
  setInterval(refresh, 2000);
})();
