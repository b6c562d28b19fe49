"""Atomic int64 array operations and a spin barrier for njit threads (Numba has no CPU atomics).

The intrinsics emit LLVM atomics, so the compiler can neither cache nor hoist a spin load; they
contain no addresses (only a reference to the libc symbol `sched_yield`), so `cache=True` works.
"""

from __future__ import annotations

import platform

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
SPINS_BEFORE_YIELD = 4000
"""Busy-wait rounds (each with a CPU pause) before a waiting thread starts yielding its core."""


def _item_pointer(context, builder, aryty, ary, idx):
    arr = context.make_array(aryty)(context, builder, value=ary)
    return cgutils.get_item_pointer(context, builder, aryty, arr, [idx], wraparound=False)


@intrinsic
def atomic_add(typingctx, ary, idx, val):
    """ary[idx] += val atomically (sequentially consistent); returns the old value."""
    if not (isinstance(ary, types.Array) and ary.dtype == types.int64 and ary.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
        v = context.cast(builder, args[2], signature.args[2], types.int64)
        return builder.atomic_rmw("add", ptr, v, "seq_cst")

    return types.int64(ary, types.intp, types.int64), codegen


@intrinsic
def atomic_load(typingctx, ary, idx):
    """ary[idx] read with acquire ordering (a fresh load every time)."""
    if not (isinstance(ary, types.Array) and ary.dtype == types.int64 and ary.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", 8)

    return types.int64(ary, types.intp), codegen


@intrinsic
def atomic_store(typingctx, ary, idx, val):
    """ary[idx] = val with release ordering."""
    if not (isinstance(ary, types.Array) and ary.dtype == types.int64 and ary.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
        v = context.cast(builder, args[2], signature.args[2], types.int64)
        builder.store_atomic(v, ptr, "release", 8)
        return context.get_dummy_value()

    return types.none(ary, types.intp, types.int64), codegen


@intrinsic
def cpu_relax(typingctx):
    """The spin-wait hint (x86 `pause`; nothing elsewhere)."""

    def codegen(context, builder, signature, args):
        if _X86:
            fnty = ir.FunctionType(ir.VoidType(), [])
            builder.call(cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse2.pause"), [])
        return context.get_dummy_value()

    return types.none(), codegen


@intrinsic
def sched_yield(typingctx):
    """libc sched_yield(): give the core away while waiting (the machine may have fewer free cores)."""

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(32), [])
        builder.call(cgutils.get_or_insert_function(builder.module, fnty, "sched_yield"), [])
        return context.get_dummy_value()

    return types.none(), codegen


@intrinsic
def cycles(typingctx):
    """The CPU cycle counter (llvm.readcyclecounter), for wait-time statistics."""

    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), []), "llvm.readcyclecounter"
        )
        return builder.call(fn, [])

    return types.int64(), codegen


ARRIVED, ABORT = 0, 1
"""Slots of the barrier array: arrivals so far, abort flag (set by a failing thread or the driver)."""


@njit(cache=True, nogil=True)
def barrier_wait(bar, nthreads, k):
    """The k-th barrier (k = 1, 2, ...) of `nthreads` threads on int64 array `bar`; False on abort.

    A counting barrier: arrivals only grow (zeroed before the threads start), so barrier k is passed
    once the count reaches k * nthreads, and no reset can race with a late reader. The atomic add
    releases this thread's writes; the acquire loads make the others' visible after the wait.
    """
    atomic_add(bar, ARRIVED, 1)
    target = k * nthreads
    spins = 0
    while atomic_load(bar, ARRIVED) < target:
        if atomic_load(bar, ABORT) != 0:
            return False
        if spins < SPINS_BEFORE_YIELD:
            cpu_relax()
            spins += 1
        else:
            sched_yield()
    return atomic_load(bar, ABORT) == 0
