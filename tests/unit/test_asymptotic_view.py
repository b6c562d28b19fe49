"""`pbn sweep`'s fits over N and plots: s∞ beside the theory, groups not split by parameters zipped with N."""

from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from service.asymptotic_view import fit_rows, fitted_stats, print_fits, write_plots
from service.plots import summary_figure
from sim.asymptotics import split_keys


def _table() -> pd.DataFrame:
    """Rates r = r∞ + a/√N (+ replicate noise) for a static and a plastic group; jnorm_ei zipped with N."""
    rng = np.random.default_rng(0)
    rows = []
    for eta in (0.0, 0.02):
        for n in (1000, 2000, 4000, 8000):
            for r in range(2):
                rows.append(
                    dict(
                        index=len(rows),
                        status="done",
                        eta_ei=eta,
                        N=n,
                        jnorm_ei=-150 * np.sqrt(n / 1000),
                        replicate=r,
                        rate_e_hz=(6.0 if eta == 0 else 10.0) - 40 / np.sqrt(n) + rng.normal(0, 0.01),
                        theory_rate_e_hz=6.0 if eta == 0 else 10.0,
                        theory_finite_rate_e_hz=(6.0 if eta == 0 else 10.0) - 38 / np.sqrt(n),
                        rate_i_hz=15.0 - 100 / np.sqrt(n),
                        j_ei=-150.0 if eta == 0 else -140 + 300 / np.sqrt(n),
                        theory_j_ei=-150.0 if eta == 0 else -120.0,
                        j_ee=25.0,
                        weights_converged=np.nan if eta == 0 else float(n > 1000 or r == 0),
                        theory_tau_w_s=np.nan if eta == 0 else 1.0,
                        t_stop_ms=8000.0,
                    )
                )
    return pd.DataFrame(rows)


SWEPT = ["eta_ei", "N", "jnorm_ei"]


def test_parameters_zipped_with_n_do_not_split_the_groups():
    rows = _table().to_dict(orient="records")
    assert split_keys(rows, SWEPT) == ["eta_ei"]
    assert split_keys(rows, ["N", "replicate"]) == ["replicate"]


def test_fits_recover_the_limit_and_say_which_weights_settled():
    table = _table()
    assert fitted_stats(table) == ["rate_e_hz", "rate_i_hz", "j_ei"]  # j_ee never moved
    rows = {(r["stat"], r["group"]): r for r in fit_rows(table, SWEPT)}
    assert ("j_ei", "eta_ei=0") not in rows  # the static group's weight does not move
    fast = rows[("rate_e_hz", "eta_ei=0.02")]
    lo, hi = fast["ci"]
    assert lo < 10.0 < hi and abs(fast["s_inf"] - 10.0) < 0.05
    assert fast["N_max"] == 8000 and fast["theory"] == 10.0
    assert abs(fast["finite"] - (10.0 - 38 / np.sqrt(8000))) < 1e-12
    assert rows[("j_ei", "eta_ei=0.02")]["settled"] == "7/8"
    assert rows[("rate_e_hz", "eta_ei=0")]["settled"] == ""


def test_fit_table_fits_80_columns_and_plots_are_written(tmp_path: Path):
    console = Console(width=80, record=True)
    print_fits(console, _table(), SWEPT)
    text = console.export_text()
    assert "s∞ + a/√N" in text and "N=8000" in text and "7/8" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    written = write_plots(_table(), SWEPT, tmp_path / "plots")
    assert [p.name for p in written] == ["rate_e_hz.png", "rate_i_hz.png", "j_ei.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)


def test_summary_plot_rings_unsettled_runs_and_groups_by_the_real_axis():
    fig = summary_figure(_table(), "j_ei", "N", SWEPT)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("eta_ei=0.02 mean") for t in labels)
    assert not any("jnorm_ei" in t for t in labels)
    assert "weights not converged (1 run; τ_w ≈ 1 s vs T = 8 s)" in labels
    assert not any("fit" in t and t.startswith("eta_ei=0.0 ") for t in labels)


def test_no_fits_without_two_sizes():
    table = _table()[lambda t: t.N == 1000]
    console = Console(width=80, record=True)
    assert print_fits(console, table, SWEPT) == [] and console.export_text() == ""


def test_diverged_runs_do_not_enter_the_fits():
    table = _table()
    before = {(r["stat"], r["group"]): r["s_inf"] for r in fit_rows(table, SWEPT)}
    table.loc[0, ["status", "rate_e_hz"]] = ["diverged", 400.0]  # its rate is the runaway's, at the stop
    after = {(r["stat"], r["group"]): r["s_inf"] for r in fit_rows(table, SWEPT)}
    assert after.keys() == before.keys()
    assert abs(after[("rate_e_hz", "eta_ei=0")] - 6.0) < 0.1
