"""One quiet, in-memory Great Expectations context per process, created on first use.

GX is slow to import and chatty: progress bars and usage statistics are switched off
here, so non-interactive runs (Airflow tasks, tests, benchmarks) print nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext

__all__ = ["dataframe_batch", "gx_context", "quiet_great_expectations"]


def quiet_great_expectations() -> None:
    """GX logs at INFO while it imports (docs decorators, registries) and may send usage
    statistics: keep its loggers to warnings and analytics off. Called on ``import quality``."""
    for name in ("great_expectations", "posthog"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


_lock = threading.Lock()
_context: AbstractDataContext | None = None
_DATASOURCE = "islandbridge_frames"
_ASSET = "frame"
_BATCH = "whole_frame"


def gx_context() -> AbstractDataContext:
    """The process-wide ephemeral GX context (in-memory stores, no progress bars, no analytics)."""
    global _context
    if _context is None:
        with _lock:
            if _context is None:
                _context = _create_context()
    return _context


def _create_context() -> AbstractDataContext:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch (an MD5 over pandas' hash of every cell, twice per
    # validation) below this size; the fingerprint is a marker no rule or Data Docs reads
    pandas_execution_engine.HASH_THRESHOLD = 0
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        analytics_enabled=False,
    )
    context = gx.get_context(project_config=config, mode="ephemeral")
    source = context.data_sources.add_pandas(_DATASOURCE)
    source.add_dataframe_asset(_ASSET).add_batch_definition_whole_dataframe(_BATCH)
    return context


def dataframe_batch(frame: Any) -> Any:
    """A GX batch over ``frame`` in the shared context."""
    context = gx_context()
    asset = context.data_sources.get(_DATASOURCE).get_asset(_ASSET)
    return asset.get_batch_definition(_BATCH).get_batch(batch_parameters={"dataframe": frame})
