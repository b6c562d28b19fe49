"""Plastic end states vs the N->inf and finite-N fixed points (docs/theory.md table, issue 12).

Usage: python bench/finite_n_plastic.py [--seeds 1] [--out bench/finite_n_plastic.json]
Each case runs long against its weight time constant; the end weight is the block mean at T.
"""

from __future__ import annotations

import argparse
import json
import time

from sim import simulate
from sim.finite_theory import predict_finite
from sim.params import SimParams
from sim.theory import predict

EIII = dict(
    cx=0.0,
    jee=30.0,
    jei=-160.0,
    jie=120.0,
    jii=-260.0,
    rx=0.015,
    rule_ei="homeo",
    eta_ei=5e-3,
    rho_ei=0.010,
    rule_ii="homeo",
    eta_ii=5e-3,
    rho_ii=0.025,
)
CASES: list[tuple[str, dict, int, float]] = [
    (
        "iSTDP EI, rho_ei = 15 Hz, eta 1e-3",
        dict(cx=0.0, rule_ei="homeo", eta_ei=1e-3, rho_ei=0.015),
        5000,
        60_000.0,
    ),
    ("iSTDP EI+II, 30/-160/120/-260, rx 15 Hz, rho 10/25", EIII, 2000, 60_000.0),
    ("iSTDP EI+II, 30/-160/120/-260, rx 15 Hz, rho 10/25", EIII, 5000, 60_000.0),
]
KEYS = ("rate_e_hz", "rate_i_hz", "j_ee", "j_ei", "j_ii")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--out", default="bench/finite_n_plastic.json")
    args = ap.parse_args()
    rows = []
    for name, kw, N, T in CASES:
        p = SimParams(N=N, T=T, record=dict(weights=50, cells=0, dt=500.0), **kw)
        inf, fin = predict(p), predict_finite(p)
        for seed in range(1, args.seeds + 1):
            t0 = time.time()
            s = simulate(p.model_copy(update=dict(seed=seed))).summary
            row = dict(case=name, N=N, T_ms=T, seed=seed, wall_s=time.time() - t0)
            for k in KEYS:
                row[k], row["theory_" + k], row["theory_finite_" + k] = (
                    s[k],
                    inf["theory_" + k],
                    fin["theory_finite_" + k],
                )
            row["weights_converged"] = s["weights_converged"]
            rows.append(row)
            print(json.dumps(row))
            with open(args.out, "w") as f:
                json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
