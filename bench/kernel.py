"""Kernel benchmark: our wall s per simulated s against plastic-balanced-network 0.0.6, peak memory, max N.

    python bench/kernel.py            # N = 1000, 2000, 5000; static and iSTDP on EI+II
    python bench/kernel.py --n50k     # also a measured run at N = 50,000 with iSTDP (needs ~5 GB)

Every measurement runs in its own subprocess (peak RSS = ru_maxrss of that process). Ours: wall
time of `run_network` for T=5 s minus T=1 s (connectivity and compilation excluded; the numba
cache is warm). Original: wall time of `simulate()` for a short T (it runs at ~2-5 s/s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = {"static": {}, "istdp_ei_ii": {"eta_ei": 1.5e-5, "eta_ii": 1.5e-5}}
ORIGINAL_T_MS = {1000: 2000, 2000: 1000, 5000: 1000}
GB = 1024**3

OURS = """
import gc, json, resource, time, numpy as np
from sim.params import SimParams
from sim.connectivity import build_connectivity
from sim.inputs import XSource
from sim.driver import run_network, warm_up
warm_up()  # load every kernel from the on-disk cache before timing
N, kw, T = {N}, {kw}, {T}
walls, cpus = {{}}, {{}}
for t in ((1000.0, T) if T > 1000.0 else (T,)):
    conn = r = None
    gc.collect()
    p = SimParams(N=N, T=t, cx=0.0, seed=1, record=dict(dt=100.0), **kw)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    conn = build_connectivity(p, rng)
    build = time.perf_counter() - t0
    V0 = rng.uniform(p.Vre, p.VT, p.N)
    t0, c0 = time.perf_counter(), time.process_time()
    r = run_network(p, conn, XSource(p, rng), V0, copy_weights=False)
    walls[t] = time.perf_counter() - t0
    cpus[t] = time.process_time() - c0
    info = dict(nnz=int(conn.weight.size), nin=int(conn.in_syn.size), nx=int(conn.x_weight.size))
per = lambda d: (d[T] - d[1000.0]) / ((T - 1000.0) / 1000.0) if T > 1000.0 else d[T] / (T / 1000.0)
per_s, cpu_per_s = per(walls), per(cpus)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(dict(per_s=per_s, cpu_per_s=cpu_per_s, build_s=build, rss=rss,
                      rate_e=r.summary["rate_e_hz"], status=r.summary["status"], **info)))
"""

ORIGINAL = """
import json, resource, time, io, contextlib, numpy as np, logging
logging.disable(logging.CRITICAL)
from tests.conftest import load_original
orig = load_original()
N, kw, T = {N}, {kw}, {T}
np.random.seed(31415)
net = orig.PlasticNeuralNetwork(N, T)
net.connectivity()
net.ffwd_spikes(T, cx=0.0)
with contextlib.redirect_stdout(io.StringIO()):
    t0, c0 = time.perf_counter(), time.process_time()
    net.simulate(**kw)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(dict(per_s=wall / (T / 1000.0), cpu_per_s=cpu / (T / 1000.0), rss=rss)))
"""


def measure(code: str, timeout: float = 3600) -> dict:
    """Run one measurement script in a fresh interpreter; its last stdout line is JSON."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if out.returncode != 0:
        return {
            "error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"rc={out.returncode}"
        }
    return json.loads(out.stdout.strip().splitlines()[-1])


def n_max_within(budget: float, rows: list[dict]) -> tuple[float, float, float]:
    """Fit RSS = a + b N^2 through the two largest measured iSTDP runs; N reaching `budget` bytes."""
    pts = sorted(
        (r["N"], r["ours"]["rss"]) for r in rows if r["mode"] == "istdp_ei_ii" and "rss" in r["ours"]
    )
    (n1, m1), (n2, m2) = pts[-2], pts[-1]
    b = (m2 - m1) / (n2**2 - n1**2)
    a = m2 - b * n2**2
    return math.sqrt((budget - a) / b), a, b


def ensure_original_version_file() -> None:
    """The 0.0.6 wheel lacks the VERSION file its __init__ reads (we load its modules directly anyway)."""
    import importlib.util

    spec = importlib.util.find_spec("plastic_balanced_network")
    if spec and spec.submodule_search_locations:
        version = Path(next(iter(spec.submodule_search_locations))) / "VERSION"
        if not version.exists():
            with contextlib.suppress(OSError):
                version.write_text("0.0.6\n")


def _row(N: int, mode: str, ours: dict, orig: dict) -> str:
    """One line of the table (NaN where a measurement failed; the error is appended)."""
    o, g = ours.get("per_s", math.nan), orig.get("per_s", math.nan)
    oc, gc = ours.get("cpu_per_s", math.nan), orig.get("cpu_per_s", math.nan)
    line = (
        f"{N:>6} {mode:>12} {o:>9.3f} {g:>9.3f} {g / o:>9.1f} {oc:>9.3f} {gc:>9.3f} {gc / oc:>6.1f} "
        f"{ours.get('rss', 0) / 2**20:>8.0f} {orig.get('rss', 0) / 2**20:>8.0f}"
    )
    for who, d in (("ours", ours), ("orig", orig)):
        if "error" in d:
            line += f"  {who}: {d['error']}"
    return line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 2000, 5000])
    ap.add_argument("--n50k", action="store_true", help="also run N=50,000 with iSTDP on EI+II")
    ap.add_argument("--no-original", action="store_true")
    args = ap.parse_args()
    ensure_original_version_file()
    rows = []
    head = (
        "N",
        "mode",
        "ours s/s",
        "orig s/s",
        "speed-up",
        "ours cpu",
        "orig cpu",
        "cpu x",
        "ours MB",
        "orig MB",
    )
    print("{:>6} {:>12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>8} {:>8}".format(*head))
    print("(s/s: wall seconds per simulated second; cpu: process CPU seconds per simulated second)")
    for N in args.sizes:
        for mode, kw in MODES.items():
            ours = measure(OURS.format(N=N, kw=repr(kw), T=5000.0))
            orig = (
                {}
                if args.no_original
                else measure(ORIGINAL.format(N=N, kw=repr(kw), T=ORIGINAL_T_MS.get(N, 1000)))
            )
            rows.append(dict(N=N, mode=mode, ours=ours, orig=orig))
            print(_row(N, mode, ours, orig))
    if args.n50k:
        r = measure(OURS.format(N=50_000, kw=repr(MODES["istdp_ei_ii"]), T=200.0))
        print(f"N=50,000 iSTDP EI+II: {json.dumps(r)}")
        if "rss" in r:
            rows.append(dict(N=50_000, mode="istdp_ei_ii", ours=r, orig={}))
            print(f"  peak RSS {r['rss'] / GB:.2f} GB, build {r['build_s']:.1f} s, {r['per_s']:.1f} s/sim. s")
    if len([r for r in rows if r["mode"] == "istdp_ei_ii"]) >= 2:
        n16, a, b = n_max_within(16 * GB, rows)
        print(
            f"memory model (iSTDP EI+II, two largest runs): RSS = {a / 2**20:.0f} MB + {b:.2f} B x N^2 "
            f"(~{b / 0.12:.1f} B per recurrent or X synapse) -> largest N within 16 GB ~ {n16:,.0f}"
        )


if __name__ == "__main__":
    main()
