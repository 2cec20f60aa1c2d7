"""The run context: where one run of the pipeline reads and writes.

Stages communicate only through files under the run folder; Airflow tasks pass
the small JSON-able summaries the stages return (paths and counts), never frames
or personal data.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

from connectors import ExtractContext, WatermarkStore, restricted_dir
from islandbridge.config import PipelineConfig, load_config

__all__ = ["RunContext"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


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
    def run_dir(self) -> Path:
        return self.data_dir / "runs" / _UNSAFE.sub("_", self.run_id)

    def zone(self, name: str) -> Path:
        """A restricted zone of this run (landing, work, quarantine, tokens): owner-only."""
        return restricted_dir(self.run_dir / name)

    @property
    def watermark_store(self) -> WatermarkStore:
        """Incremental-extraction watermarks, advanced only after a successful publish."""
        return WatermarkStore(self.data_dir / "state" / "watermarks")

    def extract_context(self) -> ExtractContext:
        return ExtractContext(
            sources_dir=self.sources_dir, env=dict(os.environ), watermarks=self.watermark_store
        )

    def to_json(self) -> dict[str, str]:
        return {
            "data_dir": str(self.data_dir),
            "config_path": str(self.config_path) if self.config_path else "",
            "run_id": self.run_id,
            "run_date": self.run_date.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict) -> RunContext:
        return cls(
            data_dir=Path(data["data_dir"]),
            config_path=Path(data["config_path"]) if data.get("config_path") else None,
            run_id=data["run_id"],
            run_date=date.fromisoformat(data["run_date"]),
        )
