"""In-process A/B timing of kernel variants: CPU s per simulated s of each, on one shared network.

    python bench/kernel_ab.py sim/kernel.py /tmp/variant.py [--n 5000 --chunks 16]
    python bench/kernel_ab.py sim/kernel.py sim/kernel.py@float32     # the precisions of one kernel

Each argument is a copy of `sim/kernel.py` (edited as you like; it may import its own helpers),
optionally with `@float32` to run it on float32 membrane state (`precision="float32"`) and/or
`@deferred` to run it with `post_updates="deferred"` (its own incoming index, without the deferred blocks).
All variants run the same network, X spikes and initial state (their own copies), alternating
1 s chunks in rotating order, so machine load hits them alike; the first chunk (compilation,
cold caches) is not counted. Prints the mean CPU s per simulated s, whether each variant ends
with the same V and weights as the first (bit for bit), and its spike count (variants that change
the dynamics should keep it close). A variant module may define `extra_net(net) -> dict` for the
arrays it adds to its `Net`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__":  # kernels loaded from copied files must not share Numba's cache with sim/
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="pbn-ab-cache-")  # ("No module '<dynamic>'")

import numpy as np

from sim import recording
from sim.connectivity import (
    block_sizes,
    build_connectivity,
    build_incoming,
    post_update_blocks,
    with_incoming,
)
from sim.driver import (
    _chunk_cap,
    _initial_state,
    choose_cells,
    flush_steps,
    make_consts,
    make_net,
    raster_choice,
    sample_positions,
    snap_range,
)
from sim.inputs import XSource
from sim.params import SimParams
from sim.plasticity import plasticity_table

MODES = {"static": {}, "istdp_ei_ii": {"eta_ei": 1.5e-5, "eta_ii": 1.5e-5}}


def load(path: str, i: int):
    """Import a kernel file as its own module (its directory is put on sys.path for helpers)."""
    sys.path.insert(0, str(Path(path).resolve().parent))
    spec = importlib.util.spec_from_file_location(f"kernel_variant_{i}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def setup(p: SimParams, K, shared: dict, precision: str = "float64", post_updates: str = "immediate") -> list:
    """Kernel arguments of variant K on its own copy of the weights, state and recordings."""
    conn, c, rec_args = shared["conn"], shared["consts"], shared["rec_args"]
    pv = p.model_copy(update={"precision": precision, "post_updates": post_updates})
    cn = conn._replace(weight=conn.weight.copy())
    plast = shared["plast"]
    if post_updates != p.post_updates:
        want = post_update_blocks(pv)
        index = build_incoming(cn.out_ptr, cn.out_split, cn.out_post, cn.N, cn.Ne, want)
        cn = cn._replace(
            **dict(zip(("in_ptr", "in_split", "in_syn", "in_pre"), index, strict=True)), indexed=want
        )
        c = c._replace(flush_steps=flush_steps(pv), snap_from=snap_range(pv, cn)[0])
        plast = plasticity_table(pv)
    st = _initial_state(pv, cn, shared["V0"])._asdict()
    state = K.State(**{f: st[f] for f in K.State._fields})
    consts = K.Consts(**{f: getattr(c, f) for f in K.Consts._fields})
    net = make_net(cn, c, plast[0])
    extra = K.extra_net(net) if hasattr(K, "extra_net") else {}  # arrays a variant adds to its Net
    net = K.Net(**{f: extra[f] if f in extra else getattr(net, f) for f in K.Net._fields})
    rec = recording.allocate(*rec_args)._asdict()
    return [net, state, consts, K.Plast(*plast), K.Rec(**{f: rec[f] for f in K.Rec._fields})]


def network(n: int, chunks: int, mode: str) -> tuple[SimParams, dict, XSource]:
    """One network for every variant: parameters, what `setup` copies per variant, and the X spikes."""
    p = SimParams(N=n, T=1000.0 * chunks, cx=0.0, seed=1, record=dict(dt=100.0), **MODES[mode])
    rng = np.random.default_rng(0)
    conn = build_connectivity(p, rng)
    V0 = rng.uniform(p.Vre, p.VT, p.N)
    xs = XSource(p, np.random.default_rng(5))
    samp, cells = sample_positions(p, conn, None, rng), choose_cells(p, rng)
    flags, coef = plasticity_table(p)
    conn = with_incoming(conn, post_update_blocks(p))
    sizes = block_sizes(conn)
    lay = recording.make_layout(p)
    n_e, n_i, first, cap = raster_choice(p, False)
    c = make_consts(p, lay, (n_e, n_i, first))
    inv = np.where(sizes > 0, 1.0 / np.maximum(sizes, 1), 0.0)
    rec_args = (p, lay, cells, np.where(flags[:, None] > 0, samp, -1), inv, _chunk_cap(p, c, 10000, cap))
    return p, dict(conn=conn, consts=c, rec_args=rec_args, V0=V0, plast=(flags, coef)), xs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kernels", nargs="+")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--chunks", type=int, default=16)
    ap.add_argument("--mode", choices=list(MODES), default="istdp_ei_ii")
    a = ap.parse_args()
    specs = [k.split("@") for k in a.kernels]
    mods = [load(k[0], i) for i, k in enumerate(specs)]
    p, shared, xs = network(a.n, a.chunks, a.mode)
    runs = [
        setup(
            p,
            K,
            shared,
            "float32" if "float32" in k else "float64",
            "deferred" if "deferred" in k else "immediate",
        )
        for K, k in zip(mods, specs, strict=True)
    ]
    cpu = np.zeros(len(mods))
    steps = recording.steps_of(1000.0, p.dt)
    for k in range(a.chunks):
        n0 = 1 + k * steps
        xs_step, xs_id = xs.take(n0 + steps)
        for i in np.roll(np.arange(len(mods)), -k):
            t0 = time.process_time()
            mods[i].run_steps(n0, n0 + steps, xs_step, xs_id, *runs[i])
            cpu[i] += (time.process_time() - t0) if k > 0 else 0.0
    ref = runs[0]
    for path, t, r in zip(a.kernels, cpu / (a.chunks - 1), runs, strict=True):
        same = np.array_equal(r[1].V, ref[1].V) and np.array_equal(r[0].weight, ref[0].weight)
        spikes = int(r[4].counts.sum())
        print(f"{t:.4f} CPU s/s  same as first: {same}  spikes after burn-in {spikes}  {path}")


if __name__ == "__main__":
    main()
