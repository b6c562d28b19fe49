"""The summary plot's groups: one line per value of the other swept parameters, theory beside each."""

import pandas as pd
import pytest

from service.plots import summary_groups, summary_png


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
