"""Kohonen E->E end states from below and above vs the N->inf and finite-N fixed points (issue 12).

Usage: python bench/finite_n_kohonen.py [--sizes 2000 5000] [--T 200000] [--out bench/finite_n_kohonen.json]
The mean weight approaches its limit as a power law (docs/theory.md), so one run cannot reach it; two runs
that start below and above it bracket it: the fixed point must lie between their end weights (and near
the power-law limits `weight_limit_fit_ee` fitted to each trajectory's second half).
"""

from __future__ import annotations

import argparse
import json
import time

from sim import simulate
from sim.finite_theory import predict_finite
from sim.params import SimParams
from sim.theory import predict

BASE = dict(cx=0.0, rule_ee="kohonen", eta_ee=1e-2, beta_ee=3.0, jei=-100.0)
STARTS = (1.0, 8.0)
KEYS = ("j_ee", "weight_limit_fit_ee", "rate_e_hz", "rate_i_hz", "weights_converged", "weight_remaining_s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[2000, 5000])
    ap.add_argument("--T", type=float, default=200_000.0, help="simulated ms")
    ap.add_argument("--out", default="bench/finite_n_kohonen.json")
    args = ap.parse_args()
    rows = []
    for N, T in [(n, args.T) for n in args.sizes]:
        for jee in STARTS:
            p = SimParams(N=N, T=T, jee=jee, seed=1, record=dict(weights=50, cells=0, dt=1000.0), **BASE)
            inf, fin = predict(p), predict_finite(p)
            t0 = time.process_time()
            s = simulate(p).summary
            row = dict(N=N, T_ms=T, jee_start=jee, cpu_s=time.process_time() - t0)
            row |= {k: s[k] for k in KEYS}
            row["theory_j_ee"], row["theory_finite_j_ee"] = inf["theory_j_ee"], fin["theory_finite_j_ee"]
            row["theory_rate_e_hz"] = inf["theory_rate_e_hz"]
            row["theory_finite_rate_e_hz"] = fin["theory_finite_rate_e_hz"]
            rows.append(row)
            print(json.dumps(row), flush=True)
            with open(args.out, "w") as f:
                json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
