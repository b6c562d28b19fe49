"""Asymptotic fit across network sizes: stat = s_inf + a / N^power, with confidence intervals.

Balanced networks keep a net mean input of O(1), so rates and weights deviate from the N -> inf theory
by O(1/sqrt(N)) (power 0.5, the default). The fit is ordinary least squares over all finite
replicates; intervals are Student-t on the parameter standard errors (residual spread, which
contains the seed-to-seed spread). It needs at least two sizes and three points.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class AsymptoticFit:
    """s_inf and a of stat = s_inf + a N^-power, their intervals at `level`, and the data used."""

    s_inf: float
    s_inf_ci: tuple[float, float]
    a: float
    a_ci: tuple[float, float]
    power: float
    level: float
    n_points: int
    n_sizes: int
    rms_residual: float

    def as_dict(self) -> dict:
        return asdict(self)


def fit_asymptote(
    N: np.ndarray | list[float], values: np.ndarray | list[float], power: float = 0.5, level: float = 0.95
) -> AsymptoticFit:
    """Fit values = s_inf + a N^-power over replicates (non-finite values dropped).

    Raises ValueError with fewer than two distinct sizes or three finite points, or a bad power/level.
    """
    if not (power > 0 and math.isfinite(power)):
        raise ValueError(f"power={power!r}: expected a positive number")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: expected a number in (0, 1)")
    N, y = np.asarray(N, float), np.asarray(values, float)
    ok = np.isfinite(N) & np.isfinite(y) & (N > 0)
    N, y = N[ok], y[ok]
    n_sizes = int(np.unique(N).size)
    if n_sizes < 2 or y.size < 3:
        raise ValueError(
            f"need at least two sizes and three finite values; got {n_sizes} sizes, {y.size} values"
        )
    X = np.vstack([np.ones_like(N), N**-power]).T
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    res = y - X @ coef
    dof = y.size - 2
    if dof > 0:
        s2 = float(res @ res) / dof
        cov = s2 * np.linalg.inv(X.T @ X)
        t = float(stats.t.ppf(0.5 + level / 2, dof))
        half = t * np.sqrt(np.diag(cov))
    else:
        half = np.full(2, math.nan)
    return AsymptoticFit(
        s_inf=float(coef[0]),
        s_inf_ci=(float(coef[0] - half[0]), float(coef[0] + half[0])),
        a=float(coef[1]),
        a_ci=(float(coef[1] - half[1]), float(coef[1] + half[1])),
        power=float(power),
        level=float(level),
        n_points=int(y.size),
        n_sizes=n_sizes,
        rms_residual=float(np.sqrt(np.mean(res**2))),
    )


def fit_groups(
    rows: list[dict], stat: str, by: list[str], power: float = 0.5, level: float = 0.95
) -> list[dict]:
    """One fit of `stat` against N per combination of the `by` parameters (rows: one per run).

    Each group also reports the mean N -> inf and finite-N predictions (`theory_<stat>`,
    `theory_finite_<stat>`) and the per-size means of measurement and predictions, so s_inf can be
    shown beside the theory. A group that cannot be fitted carries `error` instead of a fit.
    """
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(k) for k in by), []).append(row)
    out = []
    for key, members in groups.items():
        N = np.array([float(r.get("N", math.nan)) for r in members])
        y = np.array([_num(r.get(stat)) for r in members])
        entry: dict = {"group": dict(zip(by, key, strict=True)), "stat": stat}
        for name in (f"theory_{stat}", f"theory_finite_{stat}"):
            vals = np.array([_num(r.get(name)) for r in members])
            entry[name] = float(np.nanmean(vals)) if np.isfinite(vals).any() else None
        sizes = []
        for n in np.unique(N[np.isfinite(N)]):
            sel = np.isclose(N, n)
            row = {"N": float(n), "n": int(np.isfinite(y[sel]).sum()), "mean": _mean(y[sel])}
            row["sd"] = float(np.nanstd(y[sel], ddof=1)) if row["n"] > 1 else None
            row["theory_finite"] = _mean(
                np.array([_num(r.get(f"theory_finite_{stat}")) for r in members])[sel]
            )
            sizes.append(row)
        entry["sizes"] = sizes
        try:
            entry["fit"] = fit_asymptote(N, y, power, level).as_dict()
        except ValueError as exc:
            entry["fit"], entry["error"] = None, str(exc)
        out.append(entry)
    return out


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _mean(values: np.ndarray) -> float | None:
    return float(np.nanmean(values)) if np.isfinite(values).any() else None


def split_keys(rows: list[dict], swept: list[str], along: str = "N") -> list[str]:
    """Swept parameters that split the fits over `along`: all but it and those taking one value per value
    of it (zipped with it, e.g. a weight normaliser scaled with sqrt N), which follow it, not form groups."""
    out = []
    for key in swept:
        if key == along:
            continue
        per_n: dict = {}
        for row in rows:
            per_n.setdefault(row.get(along), set()).add(repr(row.get(key)))
        values = set().union(*per_n.values()) if per_n else set()
        if len(values) > 1 and all(len(v) <= 1 for v in per_n.values()):
            continue
        out.append(key)
    return out
