"""HTML pieces of the web app, rendered on the server so every page shows its content before any script runs
(the scripts in service/static then keep it live). Every value is escaped here."""

from __future__ import annotations

import html
import math
from pathlib import Path
from string import Template
from typing import Any

from service.schemas import SweepPublic

TEMPLATES = Path(__file__).resolve().parent / "templates"
ORDER = ("done", "reused", "diverged", "failed", "cancelled", "running", "pending")
"""Run statuses in the order the progress bar draws them."""
STATE_FILTERS = ("", "queued", "running", "done", "cancelled", "stopped", "failed", "diverged")
"""The list page's state filter: a sweep state, or "failed"/"diverged" for sweeps with such runs."""


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text())


def page(title: str, tpl: str, user: str, dashboard: str | None, /, **values: object) -> str:
    """A full page: the shared layout around `templates/<tpl>.html` (values already HTML)."""
    body = template(f"{tpl}.html").substitute(**{k: str(v) for k, v in values.items()})
    return template("base.html").substitute(
        title=e(title), page=tpl, user=e(user), dashboard=e(dashboard or "#"), body=body
    )


def badges(s: SweepPublic) -> str:
    """The sweep's state, and what went wrong in it (failed, diverged) as badges of their own."""
    out = [f'<span class="badge state-{e(s.state)}">{e(s.state)}</span>']
    for status in ("failed", "diverged"):
        n = s.counts.get(status, 0)
        if n:
            out.append(f'<span class="badge state-{status}">{n} {status}</span>')
    return " ".join(out)


def bar(counts: dict[str, int], n_runs: int) -> str:
    """A bar with one segment per run status (a cancelled sweep shows its cancelled part, not 100 %)."""
    parts = []
    for status in ORDER:
        n = counts.get(status, 0)
        if n and n_runs:
            parts.append(
                f'<span class="seg s-{status}" style="width:{100 * n / n_runs:.3f}%" '
                f'title="{n} {status}"></span>'
            )
    label = e(finished_label(counts, n_runs))
    return f'<span class="bar" role="img" aria-label="{label}">{"".join(parts)}</span>'


def finished_label(counts: dict[str, int], n_runs: int) -> str:
    """'6/8 with results' — runs that have a result (done, reused, diverged) out of all runs."""
    with_result = sum(counts.get(k, 0) for k in ("done", "reused", "diverged"))
    return f"{with_result}/{n_runs} with results"


def count_chips(counts: dict[str, int]) -> str:
    return "".join(
        f'<span class="chip s-{k}"><b>{counts.get(k, 0)}</b> {k}</span>' for k in ORDER if counts.get(k, 0)
    )


def sweep_row(s: SweepPublic) -> str:
    """One row of the sweep list."""
    created = s.created.strftime("%Y-%m-%d %H:%M") if s.created else ""
    eta = f"{round(s.eta_s)} s" if s.eta_s is not None else ""
    return (
        f'<tr id="sweep-{e(s.id)}" class="state-{e(s.state)}" data-progress="{s.progress}">'
        f'<td><a href="/ui/sweeps/{e(s.id)}">{e(s.name)}</a><div class="muted mono">{e(s.id)}</div></td>'
        f"<td>{e(s.owner)}</td><td class='mono'>{e(created)}</td><td>{badges(s)}</td>"
        f"<td>{bar(s.counts, s.n_runs)}</td><td>{finished_label(s.counts, s.n_runs)}</td><td>{eta}</td></tr>"
    )


def state_options(selected: str) -> str:
    labels = {"": "any state", "failed": "with failed runs", "diverged": "with diverged runs"}
    return "".join(
        f'<option value="{v}"{" selected" if v == selected else ""}>{labels.get(v, v)}</option>'
        for v in STATE_FILTERS
    )


def pager(q: str, state: str, offset: int, limit: int, count: int) -> str:
    """'1–50 of 1000' with previous/next links keeping the filter."""
    if count == 0:
        return '<span class="muted">No sweeps match.</span>'

    def link(start: int, text: str) -> str:
        return f'<a class="button" href="/?q={e(q)}&amp;state={e(state)}&amp;offset={start}">{text}</a>'

    out = [f"<span>{offset + 1}–{min(offset + limit, count)} of {count} sweeps</span>"]
    if offset > 0:
        out.insert(0, link(max(offset - limit, 0), "&larr; newer"))
    if offset + limit < count:
        out.append(link(offset + limit, "older &rarr;"))
    return " ".join(out)


def number(value: Any) -> str:
    """A number as a lab writes it (4 significant digits), '—' for missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return e(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def summary_rows(summary: dict[str, Any]) -> str:
    """Measured statistics with their `theory_*` prediction beside them (and the ratio)."""
    rows = []
    skip = ("status", "reason", "seed", "model_version", "integrator")
    keys = [k for k in summary if not k.startswith(("theory_", "info_")) and k not in skip]
    for key in sorted(keys, key=lambda k: f"theory_{k}" not in summary):
        value = summary[key]
        theory = summary.get(f"theory_{key}")
        ratio = ""
        if isinstance(value, int | float) and isinstance(theory, int | float) and theory:
            ratio = number(value / theory) if math.isfinite(value / theory) else ""
        rows.append(
            f"<tr><th>{e(key)}</th><td>{number(value)}</td>"
            f"<td>{number(theory) if f'theory_{key}' in summary else ''}</td><td>{ratio}</td></tr>"
        )
    return "\n".join(rows)


def param_rows(params: dict[str, Any], swept: set[str]) -> str:
    """Every parameter of the run; the swept ones first and marked."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    keys = sorted(flat, key=lambda k: (k not in swept, k))
    return "\n".join(
        f'<tr class="{"swept" if k in swept else ""}"><th>{e(k)}</th>'
        f'<td class="mono">{number(flat[k])}</td></tr>'
        for k in keys
    )
