"""A sweep's Zarr store over HTTP, read-only, with the same token and per-user isolation as every sweep route.

`xr.open_zarr("<server>/sweeps/<id>/zarr", storage_options={"headers": {"Authorization": ...}})` works from
any machine. What is served is service.zarr_view's view of the store: consolidated group metadata (no
listing needed), the small per-run arrays as one chunk each, every other chunk as the file on disk. A key
that names nothing in the store answers 404 (zarr reads a missing chunk as its fill value).
"""

from __future__ import annotations

import json
import re
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from service import zarr_view
from service.api.deps import RegistryDep, StoreDep, SweepId
from service.auth import CurrentUser
from service.errors import NotFoundError
from service.schemas import AUTHENTICATED, error_responses

router = APIRouter(prefix="/sweeps/{sweep_id}", tags=["data"])
SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")
"""One path segment of a store key: no '..', no hidden files, no separators or escapes."""
ZarrKey = Annotated[
    str, Path(max_length=1024, description="Key in the sweep's Zarr v3 store", examples=["zarr.json"])
]


def store_file(root: FsPath, key: str, must_exist: bool = True) -> FsPath:
    """The file of `key` inside `root`, or NotFoundError (traversal, hidden, temporary or absent)."""
    parts = key.split("/")
    if not all(SEGMENT.match(p) for p in parts) or key.endswith(".partial"):
        raise NotFoundError(f"key {key!r}: no such key in the store", field="key")
    path = root.joinpath(*parts).resolve()
    if not path.is_relative_to(root.resolve()) or (must_exist and not path.is_file()):
        raise NotFoundError(f"key {key!r}: no such key in the store", field="key")
    return path


@router.get(
    "/zarr/{key:path}",
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The key's bytes"},
        **error_responses(*AUTHENTICATED, 404),
    },
)
def read_zarr_key(
    sweep_id: SweepId, key: ZarrKey, registry: RegistryDep, store: StoreDep, user: CurrentUser
) -> Response:
    """One key (metadata or chunk) of the sweep's Zarr store, read-only: open the whole store with
    `xr.open_zarr("<server>/sweeps/<id>/zarr", storage_options={"headers": {"Authorization": …}})`."""
    registry.get(sweep_id, user)
    root = store.path(sweep_id)
    if key == "zarr.json":
        return Response(zarr_view.group_json(root), media_type="application/json")
    name, _, rest = key.partition("/")
    store_file(root, f"{name}/zarr.json")  # the array exists (and the key stays inside the store)
    meta = zarr_view.stored_meta(root, name)
    if rest == "zarr.json":
        return Response(json.dumps(zarr_view.served_meta(meta)).encode(), media_type="application/json")
    if not zarr_view.coalesced(meta):
        return Response(store_file(root, key).read_bytes(), media_type="application/octet-stream")
    store_file(root, key, must_exist=False)
    try:
        data = zarr_view.coalesced_chunk(root, name, key)
    except KeyError:
        data = None
    if data is None:
        raise NotFoundError(f"key {key!r}: no such key in the store", field="key")
    return Response(data, media_type="application/octet-stream")
