"""The run context: the configuration a run reads and the folders it reads and writes.

Where files are is the run contract's business (:mod:`islandbridge.run_layout`); this
holds the installation (data folder, configuration) and the run's identity.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

from connectors import ExtractContext, WatermarkStore
from islandbridge.config import PipelineConfig, load_config
from islandbridge.run_layout import DataLayout, RunLayout

__all__ = ["RunContext", "context_from"]


@dataclass(frozen=True)
class RunContext:
    data_dir: Path
    config_path: Path | None
    run_id: str
    run_date: date

    @cached_property
    def _loaded(self) -> tuple[PipelineConfig, Path]:
        return load_config(self.config_path)

    @property
    def config(self) -> PipelineConfig:
        return self._loaded[0]

    @property
    def config_dir(self) -> Path:
        return self._loaded[1]

    def expand(self, template: str) -> Path:
        """A configured path with ``{data_dir}`` / ``{sources_dir}`` filled in."""
        sources = self.config.sources_dir.replace("{data_dir}", str(self.data_dir))
        text = template.replace("{sources_dir}", sources).replace("{data_dir}", str(self.data_dir))
        path = Path(text)
        return path if path.is_absolute() else self.config_dir / path

    @property
    def as_of(self) -> date:
        return self.config.as_of or self.run_date

    @property
    def sources_dir(self) -> Path:
        return self.expand(self.config.sources_dir)

    @property
    def publish_root(self) -> Path:
        return self.expand(self.config.publish.root)

    @cached_property
    def data(self) -> DataLayout:
        return DataLayout(self.data_dir)

    @cached_property
    def layout(self) -> RunLayout:
        return self.data.run(self.run_id)

    @property
    def watermark_store(self) -> WatermarkStore:
        """Incremental-extraction watermarks, advanced only after a successful publish."""
        return WatermarkStore(self.data.watermarks)

    def extract_context(self) -> ExtractContext:
        """What a connector needs: the sources folder, the environment, the committed
        watermarks, and — where a source requires signed exports — the trust store and
        the record of accepted exports."""
        from islandbridge.trust import check_trust_store, export_sequences

        return ExtractContext(
            sources_dir=self.sources_dir,
            env=dict(os.environ),
            watermarks=self.watermark_store,
            trust_store=check_trust_store(self),
            export_sequences=export_sequences(self),
        )


def context_from(params: dict, run_id: str, run_date: date) -> RunContext:
    """A context from DAG params (``data_dir``, ``config``), else the environment, else the
    defaults (``./data`` and the demo's configuration)."""
    data_dir = params.get("data_dir") or os.environ.get("ISLANDBRIDGE_DATA_DIR") or "data"
    config = params.get("config") or os.environ.get("ISLANDBRIDGE_CONFIG") or ""
    return RunContext(
        data_dir=Path(data_dir).resolve(),
        config_path=Path(config).resolve() if config else None,
        run_id=run_id,
        run_date=run_date,
    )
