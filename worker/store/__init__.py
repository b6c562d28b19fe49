"""The sweep store, in one package: ids, the Zarr schema, one row path for run data, the cache of finished
runs, provenance. `SweepStore` is the entry point; everything else is its parts."""

from worker.store.ids import SWEEP_ID, SWEEP_ID_PATTERN, new_sweep_id
from worker.store.sweep_store import SweepStore

__all__ = ["SWEEP_ID", "SWEEP_ID_PATTERN", "SweepStore", "new_sweep_id"]
