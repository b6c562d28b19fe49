"""Where a step's time goes: phase timers (the CPU's cycle counter) inside a copy of the real step loop.

    python bench/kernel_phases.py [--n 5000] [--mode istdp_ei_ii] [--precision float64] [--chunks 6]

`sim/kernel.py` is copied with its `run_steps` replaced by the same calls with a cycle-counter read
between phases (plasticity split into pre- and post-spike events, as `apply_block` orders them). The
copy and the real kernel run the same network alternately (bench/kernel_ab.py's set-up); the copy
must end bit-identical to the real one (printed), and its cycle shares, scaled to the real kernel's CPU
seconds per simulated second, give each phase's cost. Pin it (`taskset -c 1`) on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="pbn-phases-cache-")  # a copied module's cache
# entries in a shared cache directory confuse numba ("No module named '<dynamic>'")

PHASES = (
    "X delivery",
    "current sums",
    "neuron pass",
    "recurrent delivery",
    "pre-spike plasticity",
    "post-spike plasticity",
    "traces, recording, reset",
)

TIMED = '''

from numba import njit as _njit  # noqa: E402

from sim.atomics import cycles as _tick  # noqa: E402
from sim.plasticity import apply_post as _apply_post, apply_pre as _apply_pre  # noqa: E402


@_njit(cache=False, nogil=True)
def _events(b, coef, net, st, ns, Ne, post):
    """apply_block's pre (post=False) or post (post=True) events of block b."""
    post_i = b >= 2
    pre_i = b == 1 or b == 3
    delta = 0.0
    for j in range(ns):
        k = st.spikes[j]
        if not post and (k >= Ne) == pre_i:
            lo, hi = (net.out_split[k], net.out_ptr[k + 1]) if post_i else (net.out_ptr[k], net.out_split[k])
            delta += _apply_pre(coef, net.weight, st.x, lo, hi, net.out_post)
        if post and (k >= Ne) == post_i:
            lo, hi = (net.in_split[k], net.in_ptr[k + 1]) if pre_i else (net.in_ptr[k], net.in_split[k])
            delta += _apply_post(coef, net.weight, st.x, lo, hi, net.in_syn, net.in_pre, st.wbuf)
    return delta


@_njit(cache=False, nogil=True)
def run_steps_timed(n0, n1, xs_step, xs_id, net, st, c, pl, rec, cyc):
    q = 0
    nxs = xs_step.size
    for n in range(n0, n1):
        t0 = _tick()
        while q < nxs and xs_step[q] <= n:
            m = xs_id[q]
            deliver_x(net, st, c, m, net.x_ptr[m], net.x_ptr[m + 1])
            q += 1
        prefetch_x_rows(net, xs_step, xs_id, q, n + 1)
        t1 = _tick()
        if n >= c.burn_step and (n - c.burn_step) % ACC_EVERY == 0:
            accumulate_currents(st, rec)
        t2 = _tick()
        ns, bad = neuron_pass(st, c, n >= c.n_on and n < c.n_off, net)
        t3 = _tick()
        deliver_recurrent(net, st, c, ns)
        t4 = _tick()
        if c.any_plastic:
            prefetch_post_weights(net, st.spikes, 0, ns)
        pre_c = 0
        post_c = _tick() - t4  # the post-spike updates' prefetch counts as theirs
        if c.any_plastic and ns > 0:
            for b in BLOCK_ORDER:
                if pl.flags[b]:
                    a = _tick()
                    d = _events(b, pl.coef[b], net, st, ns, c.Ne, False)
                    m2 = _tick()
                    d += _events(b, pl.coef[b], net, st, ns, c.Ne, True)
                    e = _tick()
                    st.block_sum[b] += d
                    pre_c += m2 - a
                    post_c += e - m2
        t5 = _tick()
        for j in range(ns):
            st.x[st.spikes[j]] += 1.0
        for j in range(ns):
            st.V[st.spikes[j]] = c.Vth
        record_step(n, st, c, rec, ns, net)
        for j in range(ns):
            st.V[st.spikes[j]] = c.Vre
        st.guard[0] += ns
        t6 = _tick()
        cyc[0] += t1 - t0
        cyc[1] += t2 - t1
        cyc[2] += t3 - t2
        cyc[3] += t4 - t3
        cyc[4] += pre_c
        cyc[5] += post_c
        cyc[6] += t6 - t5
        if bad:
            return n, DIVERGED_NONFINITE
        if st.guard[0] > c.guard_max:
            return n, DIVERGED_RATE
        if n % c.guard_steps == 0:
            st.guard[0] = 0
    return n1 - 1, OK
'''


def main() -> None:
    import kernel_ab

    from sim import recording

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--chunks", type=int, default=6)
    ap.add_argument("--mode", choices=list(kernel_ab.MODES), default="istdp_ei_ii")
    ap.add_argument("--precision", choices=("float64", "float32"), default="float64")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pbn-phases-"))
    variant = tmp / "kernel_timed.py"
    variant.write_text((ROOT / "sim" / "kernel.py").read_text() + TIMED)
    real, timed = kernel_ab.load(str(ROOT / "sim" / "kernel.py"), 0), kernel_ab.load(str(variant), 1)
    p, shared, xs = kernel_ab.network(a.n, a.chunks, a.mode)
    runs = [kernel_ab.setup(p, K, shared, a.precision) for K in (real, timed)]
    cyc = np.zeros(len(PHASES), np.int64)
    cpu = 0.0
    steps = recording.steps_of(1000.0, p.dt)
    for k in range(a.chunks):
        n0 = 1 + k * steps
        xs_step, xs_id = xs.take(n0 + steps)
        t0 = time.process_time()
        real.run_steps(n0, n0 + steps, xs_step, xs_id, *runs[0])
        cpu += (time.process_time() - t0) if k > 0 else 0.0
        if k == 1:
            cyc[:] = 0  # the first chunk compiled the copy
        timed.run_steps_timed(n0, n0 + steps, xs_step, xs_id, *runs[1], cyc)
    per_s = cpu / (a.chunks - 1)
    same = np.array_equal(runs[0][1].V, runs[1][1].V) and np.array_equal(runs[0][0].weight, runs[1][0].weight)
    share = cyc / cyc.sum()
    print(
        f"N = {a.n}, {a.mode}, {a.precision}: real kernel {per_s:.4f} CPU s per simulated s; timed copy "
        f"bit-identical: {same}"
    )
    for name, f in zip(PHASES, share, strict=True):
        print(f"  {name:<26} {f * per_s:.4f} s/s  {100 * f:5.1f} %")


if __name__ == "__main__":
    main()
