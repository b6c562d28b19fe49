"""Kernel benchmark: ours after and before (a git revision's sim/) against plastic-balanced-network 0.0.6.

    python bench/kernel.py                  # N = 1000 ... 10,000; static and iSTDP on EI+II
    python bench/kernel.py --large          # also N = 20,000 and 50,000 with iSTDP, threads 1 and 2 (~3.5 GB)
    python bench/kernel.py --before REV     # the "before" kernel: sim/ of git revision REV
    python bench/kernel.py --no-before --no-original   # after only: float64 and float32 state

Ours after is measured with precision float64 and float32 (column f32, ratio f32/a), alternating.

Every measurement runs in its own subprocess pinned to one core (peak RSS = ru_maxrss of that
process); before, after and the original alternate per configuration so machine load hits them
alike, and each number is the minimum of --reps repetitions. Ours: wall time of `run_network` for
T=3 s minus T=1 s (connectivity, compilation and the summary's finite-N theory excluded; the numba
cache is warm). Original: wall time of `simulate()` for a short T (it runs at ~2-10 s/s). `--large` also
runs ours with threads=2 (pinned to cores {0, 1}) alternating with threads=1 and prints CPU and wall s per
simulated s of both: for threads, wall time is what counts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = {
    "static": {},
    "istdp_ei_ii": {"eta_ei": 1.5e-5, "eta_ii": 1.5e-5},
    "deferred": {"eta_ei": 1.5e-5, "eta_ii": 1.5e-5, "post_updates": "deferred"},
}
"""Table modes; "deferred" is iSTDP EI+II with post_updates="deferred" (the before kernel may lack it)."""
ORIGINAL_T_MS = {1000: 2000, 2000: 1000, 5000: 1000, 10000: 500}
GB = 1024**3
REFERENCE_REV = "0de4f64"
"""Default "before": the kernel as issue 11 found it."""
METRIC = "cpu_per_s"
"""Reported: process CPU s per simulated s (on a shared machine wall time also counts other jobs)."""
PIN = "import os; os.sched_setaffinity(0, {{{core}}})\n"

OURS = """
import gc, json, resource, time, numpy as np
from sim.params import SimParams
from sim.connectivity import build_connectivity
from sim.inputs import XSource
from sim.driver import run_network, warm_up
warm_up()  # load every kernel from the on-disk cache before timing
N, kw, T = {N}, {kw}, {T}
import sim.driver, sim.summary
if hasattr(sim.summary, "_finite_theory"):  # seconds of root finding per run, not the kernel
    sim.summary._finite_theory = lambda p: {{}}
if {nthreads} > 1:  # the threaded kernel too (warm_up's 40 cells run on one thread)
    sim.driver.simulate(dict(N=2100, T=20.0, eta_ei=1e-3, eta_ii=1e-3, record=dict(cells=2, weights=2)),
                        threads={nthreads})
src = sim.driver.__file__
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
    r = run_network(p, conn, XSource(p, rng), V0, copy_weights=False{threads})
    walls[t] = time.perf_counter() - t0
    cpus[t] = time.process_time() - c0
    info = dict(nnz=int(conn.weight.size), nin=int(conn.in_syn.size), nx=int(conn.x_weight.size))
per = lambda d: (d[T] - d[1000.0]) / ((T - 1000.0) / 1000.0) if T > 1000.0 else d[T] / (T / 1000.0)
per_s, cpu_per_s = per(walls), per(cpus)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(dict(per_s=per_s, cpu_per_s=cpu_per_s, build_s=build, rss=rss, src=src,
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


def measure(code: str, timeout: float = 3600, root: Path = ROOT, core: int | str = 0) -> dict:
    """Run one measurement script in a fresh interpreter pinned to `core` (or "0, 1"), importing `sim`
    from `root`."""
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{ROOT}"}
    if root != ROOT:  # the before kernel compiles into its own numba cache
        env["NUMBA_CACHE_DIR"] = str(root / ".numba-cache")
    out = subprocess.run(
        [sys.executable, "-c", PIN.format(core=core) + code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if out.returncode != 0:
        return {
            "error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"rc={out.returncode}"
        }
    return json.loads(out.stdout.strip().splitlines()[-1])


def best(code: str, reps: int, root: Path = ROOT) -> dict:
    """The repetition with the least CPU s per simulated s (errors only if every one failed)."""
    runs = [measure(code, root=root) for _ in range(reps)]
    ok = [r for r in runs if "cpu_per_s" in r]
    return min(ok, key=lambda r: r[METRIC]) if ok else runs[-1]


def best_alternating(codes: tuple[str, ...], reps: int) -> list[dict]:
    """`best` of each script, the scripts run in turn per repetition (so load drifts hit them alike)."""
    runs = [[measure(code) for code in codes] for _ in range(reps)]
    out = []
    for i in range(len(codes)):
        ok = [r[i] for r in runs if "cpu_per_s" in r[i]]
        out.append(min(ok, key=lambda r: r[METRIC]) if ok else runs[-1][i])
    return out


def checkout_before(rev: str, into: Path) -> Path:
    """Extract sim/ of git revision `rev` into `into` (the before kernel, imported from there)."""
    archive = into / "sim.tar"
    with archive.open("wb") as f:
        subprocess.run(["git", "archive", rev, "sim"], cwd=ROOT, stdout=f, check=True)
    with tarfile.open(archive) as t:
        t.extractall(into, filter="data")
    return into


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


def _row(N: int, mode: str, after: dict, before: dict, orig: dict, f32: dict) -> str:
    """One line of the table (NaN where a measurement failed; the error is appended)."""
    a, b, g, f = (d.get(METRIC, math.nan) for d in (after, before, orig, f32))
    syn = after.get("nnz", 0) + after.get("nx", 0)
    line = (
        f"{N:>6} {mode:>12} {a:>8.3f} {f:>8.3f} {f / a:>6.3f} {b:>8.3f} {b / a:>7.2f} "
        f"{g:>8.3f} {g / a:>7.1f} "
        f"{after.get('rss', 0) / 2**20:>7.0f} {before.get('rss', 0) / 2**20:>7.0f} "
        f"{orig.get('rss', 0) / 2**20:>7.0f} {after.get('rss', 0) / max(syn, 1):>6.1f}"
    )
    for who, d in (("after", after), ("f32", f32), ("before", before), ("orig", orig)):
        if who == "before" and "src" in d and str(ROOT) in d["src"]:
            line += "  (before imported the working tree!)"
        if "error" in d:
            line += f"  {who}: {d['error']}"
    return line


def ours(N: int, kw: dict, T: float, threads: int = 1) -> str:
    """The measurement script of our kernel (threads=... only if > 1: the before kernel lacks it)."""
    extra = f", threads={threads}" if threads > 1 else ""
    return OURS.format(N=N, kw=repr(kw), T=T, threads=extra, nthreads=threads)


def _threads_row(N: int, one: dict, two: dict) -> str:
    """CPU and wall s per simulated s with threads 1 and 2, the wall speed-up, peak RSS per synapse."""
    c1, w1, c2, w2 = (d.get(k, math.nan) for d in (one, two) for k in ("cpu_per_s", "per_s"))
    syn = two.get("nnz", 0) + two.get("nx", 0)
    line = (
        f"{N:>6} {c1:>8.3f} {w1:>8.3f} {c2:>8.3f} {w2:>8.3f} {w1 / w2:>7.2f} "
        f"{one.get('rss', 0) / 2**20:>7.0f} {two.get('rss', 0) / 2**20:>7.0f} "
        f"{two.get('rss', 0) / max(syn, 1):>6.1f}"
    )
    for who, d in (("threads=1", one), ("threads=2", two)):
        if "error" in d:
            line += f"  {who}: {d['error']}"
        elif d.get("status") != "done":
            line += f"  {who}: {d.get('status')}"
    return line


HEAD = ("N", "mode", "after", "f32", "f32/a", "before", "b/a", "orig", "orig/a")
HEAD += ("MB a", "MB b", "MB o", "B/syn")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 2000, 5000, 10000])
    ap.add_argument("--large", action="store_true", help="also N=20,000 and 50,000 with iSTDP on EI+II")
    ap.add_argument("--large-sizes", type=int, nargs="*", default=[20_000, 50_000])
    ap.add_argument("--large-reps", type=int, default=1, help="threads 1, 2 alternations per large N")
    ap.add_argument("--before", default=REFERENCE_REV, help="git revision of the before kernel")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--no-original", action="store_true")
    ap.add_argument("--no-before", action="store_true")
    ap.add_argument("--modes", nargs="*", default=["static", "istdp_ei_ii"], choices=list(MODES))
    ap.add_argument("--large-mode", default="istdp_ei_ii", choices=list(MODES)[1:])
    args = ap.parse_args()
    ensure_original_version_file()
    tmp = tempfile.TemporaryDirectory(prefix="pbn-before-")
    before_root = checkout_before(args.before, Path(tmp.name))
    rows = []
    widths = (6, 12, 8, 8, 6, 8, 7, 8, 7, 7, 7, 7, 6)
    print(" ".join(f"{h:>{w}}" for h, w in zip(HEAD, widths, strict=True)))
    print(f"(CPU s per simulated s, one core, min of {args.reps}; after = float64 state, f32 = float32; "
          f"before = sim/ at {args.before}; B/syn: after's peak RSS per recurrent + X synapse)")  # fmt: skip
    for N in args.sizes:
        for mode in args.modes:
            kw = MODES[mode]
            code, code32 = ours(N, kw, 3000.0), ours(N, {**kw, "precision": "float32"}, 3000.0)
            after, f32 = best_alternating((code, code32), args.reps)
            before = {} if args.no_before else best(code, args.reps, before_root)
            orig = (
                {}
                if args.no_original
                else best(ORIGINAL.format(N=N, kw=repr(kw), T=ORIGINAL_T_MS.get(N, 500)), args.reps)
            )
            rows.append(dict(N=N, mode=mode, ours=after))
            print(_row(N, mode, after, before, orig, f32), flush=True)
    threads_rows = []
    if args.large:
        T = 2000.0  # at least 1 simulated s measured
        for N in args.large_sizes:
            kw = MODES[args.large_mode]
            code, code32 = ours(N, kw, T), ours(N, {**kw, "precision": "float32"}, T)
            one, two = [], []
            for _ in range(args.large_reps):  # alternate so machine load hits both alike
                one.append(measure(code))
                two.append(measure(ours(N, kw, T, threads=2), core="0, 1"))
            after = min((r for r in one if "per_s" in r), key=lambda r: r[METRIC], default=one[-1])
            f32 = measure(code32)
            before = {} if args.no_before else measure(code, root=before_root)
            rows.append(dict(N=N, mode=args.large_mode, ours=after))
            print(_row(N, args.large_mode, after, before, {}, f32), flush=True)
            best_two = min((r for r in two if "per_s" in r), key=lambda r: r["per_s"], default=two[-1])
            best_one = min((r for r in one if "per_s" in r), key=lambda r: r["per_s"], default=one[-1])
            threads_rows.append(_threads_row(N, best_one, best_two))
    if threads_rows:
        reps = args.large_reps
        mode = args.large_mode
        print(f"\none run on two cores ({mode}, T = {T / 1000:g} s minus 1 s; min wall of {reps}):")
        print("{:>6} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7} {:>6}".format(
            "N", "CPU 1", "wall 1", "CPU 2", "wall 2", "w1/w2", "MB 1", "MB 2", "B/syn"))  # fmt: skip
        print("\n".join(threads_rows), flush=True)
    if len([r for r in rows if r["mode"] == "istdp_ei_ii" and "rss" in r["ours"]]) >= 2:
        n16, a, b = n_max_within(16 * GB, rows)
        print(
            f"memory model (iSTDP EI+II, two largest runs): RSS = {a / 2**20:.0f} MB + {b:.2f} B x N^2 "
            f"(~{b / 0.12:.1f} B per recurrent or X synapse) -> largest N within 16 GB ~ {n16:,.0f}"
        )
    tmp.cleanup()


if __name__ == "__main__":
    main()
