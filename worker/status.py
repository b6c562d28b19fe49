"""The status vocabulary: run statuses, their stored codes, which are finished, and the sweep states.

Stored codes are positions in the tuple a store was written with (its `attrs["statuses"]`); `StatusCodec`
decodes through that tuple, so a store written by an older version with another order still reads correctly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, get_args

RunStatus = Literal["pending", "running", "done", "failed", "cancelled", "diverged", "reused"]
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
"""Every run status; its position is the code new stores write."""
FINISHED: frozenset[RunStatus] = frozenset({"done", "diverged", "reused"})
"""Runs with a result: never resubmitted (a diverged run is a result, not a failure)."""
UNFINISHED: frozenset[RunStatus] = frozenset({"pending", "running"})
"""Runs a coordinator still has to run."""
REUSABLE: frozenset[RunStatus] = frozenset({"done", "reused"})
"""Runs whose data another run with the same cache key may copy."""

SweepState = Literal["queued", "running", "done", "cancelled", "stopped", "error"]
"""`error`: paused because the store cannot be written; it resumes by itself once it can."""
SWEEP_STATES: tuple[SweepState, ...] = get_args(SweepState)
FINAL_STATES: frozenset[SweepState] = frozenset({"done", "cancelled", "stopped"})
"""States a waiting client stops at (`stopped`: unfinished runs left for a later resume)."""


class StatusCodec:
    """Codes <-> names of one store, from the status tuple stored in its attributes."""

    def __init__(self, names: Sequence[str] | None = None) -> None:
        self.names: tuple[str, ...] = tuple(names) if names else RUN_STATUSES
        unknown = set(self.names) - set(RUN_STATUSES)
        if unknown:
            raise ValueError(f"store statuses {sorted(unknown)} are not run statuses {RUN_STATUSES}")
        self.codes = {name: code for code, name in enumerate(self.names)}

    def decode(self, code: int) -> RunStatus:
        """The status stored as `code`."""
        return self.names[int(code)]  # type: ignore[return-value]

    def decode_all(self, codes: Iterable[int]) -> list[RunStatus]:
        return [self.decode(c) for c in codes]

    def encode(self, status: RunStatus) -> int:
        """The code of `status` in this store (ValueError if the store has no code for it)."""
        try:
            return self.codes[status]
        except KeyError:
            raise ValueError(f"status {status!r} has no code in this store ({self.names})") from None


def counts(statuses: Iterable[str]) -> dict[RunStatus, int]:
    """Runs per status, every status present (0 where none)."""
    out: dict[RunStatus, int] = dict.fromkeys(RUN_STATUSES, 0)
    for s in statuses:
        out[s] += 1  # type: ignore[index]
    return out
