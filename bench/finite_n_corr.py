"""Measured spike-count covariances/correlations vs the N->inf and finite-N predictions (docs/theory.md).

Usage: python bench/finite_n_corr.py [--seeds 6] [--only CASE] [--out bench/finite_n_corr.json]
(--only runs the cases whose name contains CASE and keeps the other rows of --out; --repredict
recomputes only the finite-N predictions beside the stored measurements).
Each case runs over a few seeds with the summary's own definition (sim.analysis: 250 ms windows over
[T/2, T), off-diagonal pair means, correlations over non-silent cells) and prints a markdown table of
cov_ab and corr_ab: measured mean (s.d. over seeds), N->inf (`theory_*`), finite-N
(`sim.finite_n.covariances` / `correlations`), deviations prediction/measured - 1.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from sim import finite_n, simulate
from sim.finite_theory import FinitePoint
from sim.params import SimParams

PAIRS = ("ee", "ei", "ii")
STRONG = dict(jee=10.0, jei=-100.0, rx=0.015)
CASES: list[tuple[str, dict, list[int]]] = [
    ("defaults, c=0.05", dict(cx=0.05), [2000, 5000]),
    ("defaults, c=0.1", dict(cx=0.1), [2000, 5000]),
    ("defaults, c=0.2", dict(cx=0.2), [2000, 5000]),
    ("jee=10, jei=-100, rx=15 Hz, c=0.1", dict(cx=0.1, **STRONG), [2000, 5000]),
]
T_MS = 20_000.0


def predicted(p: SimParams) -> dict[str, float]:
    fp = FinitePoint(p)
    w = p.analysis.window
    resp = finite_n.shared_response(p, fp.state, fp.j_eff)
    C = finite_n.covariances(p, fp.state, fp.j_eff, w, resp)
    R = finite_n.correlations(p, fp.state, fp.j_eff, w, resp)
    idx = {"ee": (0, 0), "ei": (0, 1), "ii": (1, 1)}
    out = {f"cov_{k}": float(C[i]) for k, i in idx.items()}
    out.update({f"corr_{k}": float(R[i]) for k, i in idx.items()})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--out", default="bench/finite_n_corr.json")
    ap.add_argument("--only", default="")
    ap.add_argument(
        "--repredict", action="store_true", help="keep --out's measurements, redo the predictions"
    )
    args = ap.parse_args()
    keys = [f"{s}_{k}" for s in ("cov", "corr") for k in PAIRS]
    old = {}
    if args.only or args.repredict:
        with open(args.out) as f:
            old = {(r["case"], r["N"]): r for r in json.load(f)}
    rows = []
    for name, kw, sizes in CASES:
        for N in sizes:
            if args.repredict and (name, N) in old:
                p = SimParams(N=N, T=T_MS, record=dict(weights=0, cells=0), **kw)
                rows.append(old[(name, N)] | dict(finite=predicted(p)))
                continue
            if args.only and args.only not in name:
                if (name, N) in old:
                    rows.append(old[(name, N)])
                continue
            p = SimParams(N=N, T=T_MS, record=dict(weights=0, cells=0), **kw)
            fin = predicted(p)
            meas, inf = [], {}
            for seed in range(1, args.seeds + 1):
                t0 = time.time()
                s = simulate(p.model_copy(update=dict(seed=seed))).summary
                meas.append([s[k] for k in keys])
                inf = {k: s[f"theory_{k}"] for k in keys}
                print(f"  {name} N={N} seed={seed}: corr_ee {s['corr_ee']:.4f} ({time.time() - t0:.0f} s)")
            m = np.array(meas)
            rows.append(
                dict(
                    case=name,
                    N=N,
                    T_ms=T_MS,
                    seeds=len(meas),
                    measured=dict(zip(keys, m.mean(0).tolist(), strict=True)),
                    sd=dict(zip(keys, m.std(0, ddof=1).tolist(), strict=True)),
                    inf=inf,
                    finite=fin,
                )
            )
            with open(args.out, "w") as f:
                json.dump(rows, f, indent=1)
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=1)
    for stat in ("cov", "corr"):
        print(f"\n| case | N | measured {stat} ee/ei/ii (s.d.) | N→∞ (dev.) | finite-N (dev.) |")
        print("| --- | --- | --- | --- | --- |")
        for r in rows:
            ks = [f"{stat}_{k}" for k in PAIRS]
            m = np.array([r["measured"][k] for k in ks])
            sd = np.array([r["sd"][k] for k in ks])
            i, f = (np.array([r[src][k] for k in ks]) for src in ("inf", "finite"))
            di, df = (i / m - 1) * 100, (f / m - 1) * 100
            fmt = "{:.3f}" if stat == "cov" else "{:.4f}"

            def join(xs, fmt=fmt):
                return "/".join(fmt.format(x) for x in xs)

            def pct(xs):
                return "/".join(f"{x:+.0f}" for x in xs)

            print(
                f"| {r['case']} | {r['N']:,} | {join(m)} ({join(sd)}) | {join(i)} ({pct(di)} %)"
                f" | {join(f)} ({pct(df)} %) |"
            )


if __name__ == "__main__":
    main()
