"""Software prefetch for njit code: start loading a row of synapses before the loop that reads it.

A spiker's rows (targets, weights, incoming index) are far apart in memory and cold; asking for
them as soon as the spiker is known lets their loads overlap the rest of the step's work. A prefetch
never faults and changes no value, so results stay bit-identical.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from sim.atomics import _item_pointer

LINE = 64
"""Bytes per cache line."""


@intrinsic
def prefetch(typingctx, ary, idx):
    """Hint the CPU to load the cache line of ary[idx] (read, keep in all cache levels)."""
    return _prefetch_signature(ary, locality=3)


@intrinsic
def prefetch_l2(typingctx, ary, idx):
    """The same hint for a line needed a few dozen loads later (prefetcht2: it need not take an L1 slot)."""
    return _prefetch_signature(ary, locality=1)


def _prefetch_signature(ary, locality: int):
    """(signature, codegen) of llvm.prefetch on ary[idx] with the given locality (3 = keep in all levels)."""
    if not (isinstance(ary, types.Array) and ary.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = _declare(builder.module, f"llvm.prefetch.{_pointer_suffix(i8p)}", [i8p, i32, i32, i32])
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(locality), i32(1)])  # read, locality, data
        return context.get_dummy_value()

    return types.none(ary, types.intp), codegen


def _pointer_suffix(ptr_type: ir.Type) -> str:
    """The intrinsic's name suffix: "p0i8" for typed pointers (i8*), "p0" for LLVM's opaque `ptr`."""
    return "p0" if str(ptr_type) == "ptr" else "p0i8"


def _declare(module: ir.Module, name: str, arg_types: list) -> ir.Function:
    """The declaration of an LLVM intrinsic returning void, added to the module once."""
    fnty = ir.FunctionType(ir.VoidType(), arg_types)
    return module.globals.get(name) or ir.Function(module, fnty, name=name)


@njit(cache=True, nogil=True)
def prefetch_range(ary, lo, hi):
    """Prefetch ary[lo:hi], one request per cache line."""
    step = max(1, LINE // ary.itemsize)
    for s in range(lo, hi, step):
        prefetch(ary, s)
