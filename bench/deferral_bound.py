"""How much could deferring the post-spike updates save? Two bounds, measured against today's kernel.

    python bench/deferral_bound.py [--n 50000 --chunks 4 --precision float32]

Issue 11's idea: apply the post-spike updates pending on a plastic synapse when its presynaptic row is
next streamed, instead of one scattered read-modify-write per update. Two variants of `sim/kernel.py`
are generated from the current files (text substitutions, checked) and timed in one process with
`bench/kernel_ab.py`:

- `skip`: post spikes only add 1 to a per-cell sum; no weight is touched (the most any deferral saves);
- `streamed`: as `skip`, plus in every pre-spike event each synapse reads its post cell's sum, a float32
  snapshot of its own, and writes the snapshot back (the least a deferral with a per-synapse snapshot
  costs; its weight change is multiplied by the rule's B0, zero for iSTDP, so the dynamics stay close).

Neither is a correct model (the post-spike weight changes are missing): they bound the gain, they are
not a kernel. Both print their spike count after burn-in next to the real kernel's. The real deferral
is now `post_updates="deferred"` (`bench/kernel_ab.py sim/kernel.py sim/kernel.py@deferred`); the
variants are generated from the kernel's immediate path.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POST_LOOP = """            delta += apply_post(c, weight, x, lo, hi, net.in_syn, net.in_pre, st.wbuf)"""
PRE_CALL = """                delta += apply_pre(c, weight, x, lo, hi, net.out_post)"""
STREAMED_PRE = '''@njit(cache=True, nogil=True)
def apply_pre_streamed(c, weight, x, syn_lo, syn_hi, out_post, snap, scell):
    """apply_pre plus the streamed part of a deferred post update: w += B0 (S_post - snapshot)."""
    a0, a1, a2, a3 = c[A0], c[A1], c[A2], c[A3]
    clip, lo, hi, kz = c[CLIP] != 0.0, c[LO], c[HI], c[B0]
    delta = 0.0
    for s in range(syn_lo, syn_hi):
        i = out_post[s]
        xp, sv = x[i], scell[i]
        w = weight[s] + kz * (sv - snap[s])
        snap[s] = sv
        nw = w + ((a0 + a1 * xp) + (a2 + a3 * xp) * w)
        if clip:
            nw = min(max(nw, lo), hi)
        weight[s] = nw
        delta += nw - w
    return delta


'''
NET_FIELD = "    uniform: np.ndarray  # float64[6]"
EXTRA = '''def extra_net(net):
    """The variant's arrays: a float32 snapshot per synapse, a float32 post-spike sum per cell."""
    return {"snap": np.zeros(net.weight.size, np.float32), "scell": np.zeros(net.in_ptr.size - 1, np.float32)}


class State(NamedTuple):'''


def _sub(text: str, old: str, new: str) -> str:
    if old not in text:
        raise SystemExit(f"deferral_bound: {old.strip()[:60]!r} not found; update the substitutions")
    return text.replace(old, new)


def write_variants(out: Path) -> list[Path]:
    """The `skip` and `streamed` variants as module files in `out` (each imports its own plasticity)."""
    kernel = (ROOT / "sim" / "kernel.py").read_text()
    plast = (ROOT / "sim" / "plasticity.py").read_text()
    skip = _sub(plast, POST_LOOP, "            net.scell[i] += 1.0")
    call = PRE_CALL.replace("apply_pre(", "apply_pre_streamed(")[:-1] + ", net.snap, net.scell)"
    post_def = "@njit(cache=True, nogil=True)\ndef apply_post("
    streamed = _sub(_sub(skip, PRE_CALL, call), post_def, STREAMED_PRE + post_def)
    paths = []
    for name, body in (("skip", skip), ("streamed", streamed)):
        (out / f"plasticity_{name}.py").write_text(body)
        k = _sub(kernel, "from sim.plasticity import", f"from plasticity_{name} import")
        line = next(ln for ln in k.splitlines() if ln.startswith(NET_FIELD))
        k = _sub(k, line, f"{line}\n    snap: np.ndarray\n    scell: np.ndarray")
        k = _sub(k, "class State(NamedTuple):", EXTRA)
        paths.append(out / f"kernel_{name}.py")
        paths[-1].write_text(k)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--precision", choices=("float64", "float32"), default="float32")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pbn-deferral-") as tmp:
        ref = Path(tmp) / "kernel_now.py"
        ref.write_text((ROOT / "sim" / "kernel.py").read_text())
        kernels = [ref, *write_variants(Path(tmp))]
        args = [f"{k}@{a.precision}" for k in kernels]
        ab = [sys.executable, str(ROOT / "bench" / "kernel_ab.py"), *args]
        subprocess.run([*ab, "--n", str(a.n), "--chunks", str(a.chunks)], check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
