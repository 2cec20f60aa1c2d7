"""campus_integration: every department's data → one pseudonymised, signed dataset.

Wiring only: each task calls one function of ``islandbridge.stages`` and passes its
small typed result (JSON) through XCom, never data. A run with ``sources`` extracts
only those; every other source is carried over from the current publication, so each
version holds every source. One source's failure stops only its own chain.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag

from islandbridge.pipeline_tasks import plan, process_sources, retry_defaults


@dag(
    dag_id="campus_integration",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    tags=["islandbridge", "party-building", "integration"],
    default_args=retry_defaults(),
    params={
        "sources": Param([], type="array", description="extract only these (empty: all)"),
        "allow_shrink": Param(
            False, type="boolean", description="publish even if a table shrinks or a source is gone"
        ),
        "data_dir": Param("", type="string", description="data folder (default: env or ./data)"),
        "config": Param("", type="string", description="configuration YAML (default: the demo)"),
    },
    doc_md=__doc__,
)
def campus_integration() -> None:
    process_sources(plan())


campus_integration()
