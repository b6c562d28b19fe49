"""A sweep's Zarr store over HTTP, read-only, with the same token and per-user isolation as every sweep route.

`xr.open_zarr("<server>/sweeps/<id>/zarr", storage_options={"headers": {"Authorization": ...}})` works from
any machine: the group's `zarr.json` is answered with the consolidated metadata of its arrays (assembled
here from their own `zarr.json`, nothing is written to the store), so a client needs no directory listing,
and every chunk is one GET of one file. A key that names no file of the store answers 404 (zarr reads a
missing chunk as its fill value).
"""

from __future__ import annotations

import json
import re
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from service.api.deps import RegistryDep, StoreDep, SweepId
from service.auth import CurrentUser
from service.errors import NotFoundError

router = APIRouter(prefix="/sweeps/{sweep_id}", tags=["data"])
SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")
"""One path segment of a store key: no '..', no hidden files, no separators or escapes."""
ZarrKey = Annotated[
    str, Path(max_length=1024, description="Key in the sweep's Zarr v3 store", examples=["zarr.json"])
]


def store_file(root: FsPath, key: str) -> FsPath:
    """The file of `key` inside `root`, or NotFoundError (traversal, hidden, temporary or absent)."""
    parts = key.split("/")
    if not all(SEGMENT.match(p) for p in parts) or key.endswith(".partial"):
        raise NotFoundError(f"key {key!r}: no such key in the store", field="key")
    path = root.joinpath(*parts).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        raise NotFoundError(f"key {key!r}: no such key in the store", field="key")
    return path


def consolidated_group(root: FsPath) -> bytes:
    """The group's zarr.json with its members' metadata inlined (zarr v3 `consolidated_metadata`)."""
    group = json.loads((root / "zarr.json").read_text())
    members: dict[str, Any] = {}
    for meta in sorted(root.glob("*/zarr.json")):
        if SEGMENT.match(meta.parent.name):
            members[meta.parent.name] = json.loads(meta.read_text())
    group["consolidated_metadata"] = {"kind": "inline", "must_understand": False, "metadata": members}
    return json.dumps(group).encode()


@router.get(
    "/zarr/{key:path}",
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The key's bytes"}},
)
def read_zarr_key(
    sweep_id: SweepId, key: ZarrKey, registry: RegistryDep, store: StoreDep, user: CurrentUser
) -> Response:
    """One key (metadata or chunk) of the sweep's Zarr store, read-only: open the whole store with
    `xr.open_zarr("<server>/sweeps/<id>/zarr", storage_options={"headers": {"Authorization": …}})`."""
    registry.get(sweep_id, user)
    root = store.path(sweep_id)
    if key == "zarr.json":
        return Response(consolidated_group(root), media_type="application/json")
    path = store_file(root, key)
    media = "application/json" if path.name == "zarr.json" else "application/octet-stream"
    return Response(path.read_bytes(), media_type=media)
