"""Atomic int64 array operations and a spin barrier for njit threads (Numba has no CPU atomics).

The intrinsics emit LLVM atomics, so the compiler can neither cache nor hoist a spin load; they
contain no addresses (only references to the libc symbols `syscall` and `sched_yield`), so
`cache=True` works. Sleeping waiters use the Linux futex; elsewhere they yield.
"""

from __future__ import annotations

import platform

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
_SYS_FUTEX = {"x86_64": 202, "amd64": 202, "aarch64": 98, "arm64": 98}.get(platform.machine().lower())
_FUTEX = platform.system() == "Linux" and _SYS_FUTEX is not None
FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE = 128, 129
SPINS_BEFORE_SLEEP = 4000
"""Busy-wait rounds (each with a CPU pause, ~0.1 ms in all) before a waiting thread sleeps: a partner
that is descheduled (cores shared with other processes) then gets the core instead of a spinner."""
SLEEP_NS = 1_000_000
"""Longest sleep per round (a missed wake-up, which the protocol rules out, would cost only this)."""


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


def _futex(builder, ptr, op, val, timeout_ns):
    """syscall(SYS_futex, ptr, op, val, &timespec or NULL): the low 32 bits of an int64 slot."""
    i64 = ir.IntType(64)
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i64, [i64], var_arg=True), "syscall")
    ts = ir.Constant(ir.PointerType(ir.ArrayType(i64, 2)), None)
    if timeout_ns is not None:
        ts = cgutils.alloca_once(builder, ir.ArrayType(i64, 2))
        builder.store(ir.Constant(ir.ArrayType(i64, 2), [timeout_ns // 10**9, timeout_ns % 10**9]), ts)
    addr = builder.ptrtoint(ptr, i64)
    args = [ir.Constant(i64, _SYS_FUTEX), addr, ir.Constant(i64, op), val, builder.ptrtoint(ts, i64)]
    return builder.call(fn, [*args, ir.Constant(i64, 0), ir.Constant(i64, 0)])


@intrinsic
def futex_wait(typingctx, ary, idx, seen):
    """Sleep while the low 32 bits of ary[idx] equal those of `seen` (at most SLEEP_NS; Linux; elsewhere
    a sched_yield)."""
    if not (isinstance(ary, types.Array) and ary.dtype == types.int64 and ary.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        if _FUTEX:
            ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
            seen32 = builder.and_(args[2], ir.Constant(ir.IntType(64), 0xFFFFFFFF))
            _futex(builder, ptr, FUTEX_WAIT_PRIVATE, seen32, SLEEP_NS)
        else:
            fnty = ir.FunctionType(ir.IntType(32), [])
            builder.call(cgutils.get_or_insert_function(builder.module, fnty, "sched_yield"), [])
        return context.get_dummy_value()

    return types.none(ary, types.intp, types.int64), codegen


@intrinsic
def futex_wake(typingctx, ary, idx):
    """Wake every thread sleeping on ary[idx] (Linux; nothing elsewhere)."""
    if not (isinstance(ary, types.Array) and ary.dtype == types.int64 and ary.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        if _FUTEX:
            ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
            _futex(builder, ptr, FUTEX_WAKE_PRIVATE, ir.Constant(ir.IntType(64), 2**31 - 1), None)
        return context.get_dummy_value()

    return types.none(ary, types.intp), codegen


@intrinsic
def cycles(typingctx):
    """The CPU cycle counter (llvm.readcyclecounter), for wait-time statistics."""

    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), []), "llvm.readcyclecounter"
        )
        return builder.call(fn, [])

    return types.int64(), codegen


ARRIVED, ABORT, SLEEPERS = 0, 1, 2
"""Slots of the int64[3] barrier array: arrivals so far, abort flag (set by a failing thread or the
driver), threads sleeping in futex_wait."""


@njit(cache=True, nogil=True)
def barrier_wait(bar, nthreads, k):
    """The k-th barrier (k = 1, 2, ...) of `nthreads` threads on int64 array `bar`; False on abort.

    A counting barrier: arrivals only grow (zeroed before the threads start), so barrier k is passed
    once the count reaches k * nthreads, and no reset can race with a late reader. The atomic add
    releases this thread's writes; the acquire loads make the others' visible after the wait. After
    SPINS_BEFORE_SLEEP rounds a waiter sleeps on the count: it announces itself (SLEEPERS) before the
    kernel compares the count it saw, and the last arriver reads SLEEPERS after its add (both seq_cst),
    so either the waker sees the sleeper or the sleeper sees the new count: no lost wake-up.
    """
    target = k * nthreads
    if atomic_add(bar, ARRIVED, 1) + 1 == target:
        if atomic_load(bar, SLEEPERS) != 0:
            futex_wake(bar, ARRIVED)
        return atomic_load(bar, ABORT) == 0
    spins = 0
    while True:
        seen = atomic_load(bar, ARRIVED)
        if seen >= target:
            break
        if atomic_load(bar, ABORT) != 0:
            return False
        if spins < SPINS_BEFORE_SLEEP:
            cpu_relax()
            spins += 1
        else:
            atomic_add(bar, SLEEPERS, 1)
            futex_wait(bar, ARRIVED, seen)
            atomic_add(bar, SLEEPERS, -1)
    return atomic_load(bar, ABORT) == 0
