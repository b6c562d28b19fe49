"""The schemathesis CLI against a real server: every phase (examples, coverage, fuzzing, stateful sequences
along the links it infers: POST /sweeps -> status, results, runs, plots, DELETE), every check, 200 examples
per operation. It must find no 5xx and no response outside the schema.

Two checks are configured, not dropped, and each for a reason of the API's design, not of a bug:
- `positive_data_acceptance` also accepts 400/422: a schema-valid definition can still be over a limit or
  break a cross-field rule (Vre < Vth, a rule's parameters), which JSON Schema cannot say; and the
  schema of `base` is an open mapping (any MODEL.md parameter), so generated names are mostly unknown.
- `use_after_free` is off: `DELETE /sweeps/{id}` cancels a sweep, which stays readable (`state:
  cancelled`, its finished runs kept); only `?purge=true` deletes it (docs/service.md §3).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from distributed import LocalCluster

from service.settings import Settings
from tests.service_live import LiveServer

TOKEN = "stateful-token-01"
EXAMPLES = 200
CONFIG = """
headers = {{ Authorization = "Bearer {token}" }}
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]
"""


@pytest.mark.slow
def test_schemathesis_stateful_all_checks_finds_no_5xx_and_no_schema_violation(tmp_path: Path):
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        settings = Settings(
            data=tmp_path / "data",
            scheduler=cluster.scheduler_address,
            tokens=f"{TOKEN}=fuzzer",
            max_runs=4,  # the schema's example (4 runs, N <= 400, T = 1000) is accepted
            max_N=5000,  # a definition of defaults only (N = 5000, T = 10 s) is accepted too
            max_T_ms=10_000.0,
            user_max_queued_core_s=2.4,  # the quota keeps the work bounded: about one default run queued
            user_max_concurrent_runs=1,
        )
        config = tmp_path / "schemathesis.toml"
        config.write_text(CONFIG.format(token=TOKEN))
        with LiveServer(settings) as live:
            args = [
                *("--config-file", str(config), "run", f"{live.url}/openapi.json"),
                *("--checks", "all", "--exclude-checks", "use_after_free"),
                *("--phases", "examples,coverage,fuzzing,stateful"),
                *("--max-examples", str(EXAMPLES), "--workers", "1", "--seed", "8"),
                *("--generation-database", "none", "--request-timeout", "60"),
                *("--report", "junit", "--report-dir", str(tmp_path / "report")),
            ]
            cli = Path(sys.executable).parent / "schemathesis"
            done = subprocess.run(
                [str(cli), *args], capture_output=True, text=True, timeout=840, cwd=tmp_path
            )
    output = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, output
    assert "Stateful" in output and "API Links" in output and "generated" in output, output
    print(output[-2500:])  # the summary: phases, links covered, test cases generated (`pytest -s` shows it)
