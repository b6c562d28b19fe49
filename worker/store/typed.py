"""Typed access to zarr groups and arrays: zarr's stubs return wide unions (`Array | Group`, `NDArrayLike |
scalar`, JSON values), so callers narrow them here once instead of casting at every use."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import zarr

Selection = int | slice | tuple[int | slice, ...]
"""A basic (integer/slice) selection into a zarr array."""


def array(group: zarr.Group, name: str) -> zarr.Array:
    """The array `name` of `group` (TypeError naming it if that member is a sub-group)."""
    member = group[name]
    if not isinstance(member, zarr.Array):
        raise TypeError(
            f"zarr member {name!r} of {group.path or group.store_path}: expected an array, got a group"
        )
    return member


def read(arr: zarr.Array, selection: Selection) -> np.ndarray:
    """A slice selection read as a numpy array (zarr's default buffer is numpy)."""
    return cast(np.ndarray, arr[selection])


def cell(arr: zarr.Array, index: int) -> Any:
    """One element of a 1-d array (a numpy scalar: str, int or float)."""
    return arr[index]


def attr(group: zarr.Group, key: str) -> Any:
    """One group attribute, as the JSON value it was written from."""
    return group.attrs[key]
