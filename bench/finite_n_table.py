"""Measured rates vs the N->inf and finite-N predictions (the table of docs/theory.md, issue 12).

Usage: python bench/finite_n_table.py [--quick] [--out bench/finite_n_table.json]
Runs each case over a few seeds (exact integrator, statistics after T/2) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from sim import simulate
from sim.finite_n import solve
from sim.params import SimParams
from sim.theory import balanced_rates

P05 = {f"p_{b}": 0.05 for b in ("ee", "ei", "ie", "ii", "ex", "ix")}
CASES: list[tuple[str, dict, list[int], float]] = [
    ("defaults, c=0", dict(cx=0.0), [2000, 5000, 20000], 20_000.0),
    ("defaults, c=0.1", dict(cx=0.1), [2000, 5000], 20_000.0),
    ("p=0.05, frac_exc=0.75, c=0", dict(cx=0.0, frac_exc=0.75, **P05), [5000, 20000], 20_000.0),
    ("jee=10, jei=-100, rx=15 Hz, c=0", dict(cx=0.0, jee=10.0, jei=-100.0, rx=0.015), [2000, 5000], 20_000.0),
    ("p=0.2, jii=-300, c=0", dict(cx=0.0, jii=-300.0, **{k: 0.2 for k in P05}), [2000, 5000], 20_000.0),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--out", default="bench/finite_n_table.json")
    args = ap.parse_args()
    rows = []
    for name, kw, sizes, T in CASES:
        for N in sizes:
            t_run = T if N <= 5000 else T / 2
            p = SimParams(N=N, T=t_run, record=dict(weights=0, cells=0), **kw)
            inf = np.array(balanced_rates(p)) * 1000
            fin = solve(p).rates * 1000
            meas = []
            for seed in range(1, args.seeds + 1):
                t0 = time.time()
                s = simulate(p.model_copy(update=dict(seed=seed))).summary
                meas.append((s["rate_e_hz"], s["rate_i_hz"]))
                took = time.time() - t0
                print(f"  {name} N={N} seed={seed}: {s['rate_e_hz']:.3f} {s['rate_i_hz']:.3f} ({took:.0f} s)")
            m = np.array(meas)
            rows.append(
                dict(
                    case=name,
                    N=N,
                    T_ms=t_run,
                    seeds=len(meas),
                    measured=m.mean(0).tolist(),
                    sd=m.std(0, ddof=1).tolist() if len(meas) > 1 else [0, 0],
                    inf=inf.tolist(),
                    finite=fin.tolist(),
                )
            )
            with open(args.out, "w") as f:
                json.dump(rows, f, indent=1)
    print("| case | N | measured r_e, r_i (Hz) | N→∞ (dev.) | finite-N (dev.) |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        m, i, f = (np.array(r[k]) for k in ("measured", "inf", "finite"))
        di, df = (i / m - 1) * 100, (f / m - 1) * 100
        print(
            f"| {r['case']} | {r['N']:,} | {m[0]:.2f}, {m[1]:.2f} "
            f"| {i[0]:.2f}, {i[1]:.2f} ({di[0]:+.0f} %, {di[1]:+.0f} %)"
            f" | {f[0]:.2f}, {f[1]:.2f} ({df[0]:+.1f} %, {df[1]:+.1f} %) |"
        )


if __name__ == "__main__":
    main()
