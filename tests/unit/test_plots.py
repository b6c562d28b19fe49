"""The summary plot's groups: one line per value of the other swept parameters, theory beside each."""

import numpy as np
import pandas as pd
import pytest

from service.plots import rates_figure, rates_png, summary_figure, summary_groups, summary_png, weights_figure


def _table() -> pd.DataFrame:
    rows = [
        dict(N=n, cx=cx, replicate=r, j_ei=-150 + n / 100 + r, theory_j_ei=-119.66 if cx == 0 else -120.88)
        for n in (500, 1000)
        for cx in (0.0, 0.1)
        for r in (0, 1)
    ]
    return pd.DataFrame(rows)


def test_plots_summary_groups_split_by_other_swept_parameter() -> None:
    groups = summary_groups(_table(), "j_ei", "N", ["N", "cx"])
    assert [g[0] for g in groups] == ["cx=0.0", "cx=0.1"]
    _, points, means, predicted = groups[1]
    assert len(points) == 4 and list(means.index) == [500, 1000]
    assert means.loc[1000] == pytest.approx(-150 + 10 + 0.5)
    assert predicted is not None and list(predicted) == [-120.88, -120.88]


def test_plots_summary_single_group_without_other_axes_and_png() -> None:
    table = _table()[lambda t: t.cx == 0].drop(columns="theory_j_ei")
    groups = summary_groups(table, "j_ei", "N", ["N", "cx"])
    assert len(groups) == 1 and groups[0][0] == "" and groups[0][3] is None
    assert summary_png(table, "j_ei", "N", ["N", "cx"]).startswith(b"\x89PNG")


def _diverged_run() -> dict:
    t = np.arange(0.0, 60.0, 10.0)
    return {
        "index": 7,
        "status": "diverged",
        "error": "rate",
        "point": {"jee": 400.0, "cx": 0.1},
        "replicate": 1,
        "params": {"rate_max_hz": 50.0},
        "summary": {
            "status": "diverged",
            "reason": "rate",
            "t_stop_ms": 54.4,
            "stop_rate_e_hz": 1483.0,
            "stop_rate_i_hz": 466.0,
            "theory_rate_e_hz": float("nan"),
            "theory_rate_i_hz": 15.9,
            "theory_j_ee": 400.0,
        },
        "arrays": {
            "rate_time_ms": t,
            "rate_e_hz_t": np.array([0, 0, 0, 0, 200, 1483.0]),
            "rate_i_hz_t": np.array([0, 0, 0, 0, 100, 466.0]),
            "time_ms": t + 10,
            "weight_mean": np.tile([[400.0], [-1.0], [112.5], [-1.0]], (1, len(t))),
        },
    }


def _inside(fig, artist, ax) -> bool:
    """Whether the artist's box overlaps the axes' data area (rendered)."""
    renderer = fig.canvas.get_renderer()
    return artist.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))


def _render(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig


def test_plots_rates_title_units_divergence_and_legend_outside() -> None:
    fig = _render(rates_figure(_diverged_run()))
    ax = fig.axes[0]
    title = ax.get_title()
    assert "jee=400, cx=0.1 (replicate 1, run 7)" in title
    assert "E rate 1483 Hz above the 50 Hz guard at t = 54.4 ms" in title.replace("\n", " ")
    assert ax.get_ylabel() == "population rate [Hz]" and ax.get_xlabel() == "time [ms]"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "I theory (mean field)" in texts and "E theory: no prediction" in texts
    assert "diverged: run stopped" in texts
    assert any(line.get_xdata()[0] == 54.4 for line in ax.get_lines() if line.get_linestyle() == ":")
    assert not _inside(fig, ax.get_legend(), ax)
    assert rates_png(_diverged_run()).startswith(b"\x89PNG")


def test_plots_weights_units_per_panel_and_figure_legend() -> None:
    fig = _render(weights_figure(_diverged_run()))
    panels = fig.axes
    assert [a.get_ylabel() for a in panels] == [f"j_{b} [j = √N·J]" for b in ("ee", "ei", "ie", "ii")]
    assert "diverged" in fig.get_suptitle() and "jee=400" in fig.get_suptitle()
    legend = fig.legends[0]
    assert "mean-field fixed point" in [t.get_text() for t in legend.get_texts()]
    assert not any(_inside(fig, legend, a) for a in panels)


def test_plots_summary_units_replicate_legend_and_diverged_marked() -> None:
    table = _table().assign(status="done")
    table.loc[0, "status"] = "diverged"
    table.loc[1, ["status", "j_ei"]] = ["diverged", float("nan")]
    fig = _render(summary_figure(table, "j_ei", "N", ["N", "cx"]))
    ax = fig.axes[0]
    assert ax.get_ylabel() == "j_ei [j = √N·J]" and ax.get_xlabel() == "N"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "one run (replicate)" in texts and "cx=0.0 theory (mean field)" in texts
    assert "diverged (2 runs, 1 without a value)" in texts
    assert not _inside(fig, ax.get_legend(), ax)
    groups = summary_groups(table, "j_ei", "N", ["N", "cx"])
    assert len(groups[0][1]) == 2  # the two diverged runs of cx=0.0 are not averaged in
