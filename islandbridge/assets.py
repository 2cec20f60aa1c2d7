"""The Airflow Assets of an installation, declared at DAG-parse time.

Parse-time work is limited to reading the small configuration YAML (source names
and connector kinds) and environment variables: no database, no network, no data.
Landing assets are emitted at run time through the ``LANDING`` alias, so a mapped
extract task records an event only for the source it extracted.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from airflow.sdk import Asset, AssetAlias, AssetWatcher

from islandbridge.run_layout import DataLayout, ready_flag_name

__all__ = [
    "LANDING",
    "PUBLISHED",
    "configured_sources",
    "intake_assets",
    "landing_asset",
    "landing_event",
]

PUBLISHED = Asset(name="published_dataset", uri="islandbridge://published/current")
LANDING = AssetAlias("islandbridge_landing")


def landing_asset(source: str) -> Asset:
    """The Asset of one source's landing; updated each time that source is extracted."""
    return Asset(name=f"landing_{source}", uri=f"islandbridge://landing/{source}")


def landing_event(outlet_events: object, landed: dict, run_id: str) -> dict:
    """Record an event on the extracted source's landing Asset (counts only) when it was
    extracted in this run (not carried over); returns ``landed``."""
    if landed.get("mode") == "fresh":
        extra = {"run_id": run_id, "rows": landed["rows"]}
        outlet_events[LANDING].add(landing_asset(landed["source"]), extra=extra)  # type: ignore[index]
    return landed


def configured_sources() -> dict[str, str]:
    """Source name → connector kind from the YAML (``ISLANDBRIDGE_CONFIG`` or the demo's)."""
    demo = Path(__file__).resolve().parent.parent / "config" / "islandbridge.yaml"
    path = Path(os.environ.get("ISLANDBRIDGE_CONFIG") or demo)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return {s["name"]: s.get("connector", "") for s in raw.get("sources", [])}
    except (OSError, yaml.YAMLError, TypeError, KeyError, AttributeError):
        return {}  # the run's own config check reports it; parsing must not fail


def intake_assets() -> list[Asset]:
    """One Asset per file source; watched (``<data_dir>/intake/<source>.ready``) when the
    installation's data folder is known from ``ISLANDBRIDGE_DATA_DIR``."""
    from airflow.providers.standard.triggers.file import DirectoryFileDeleteTrigger

    data_dir = os.environ.get("ISLANDBRIDGE_DATA_DIR")
    out = []
    for name, kind in configured_sources().items():
        if kind != "file":
            continue
        watchers = []
        if data_dir:
            trigger = DirectoryFileDeleteTrigger(
                directory=str(DataLayout(Path(data_dir)).intake), filename=ready_flag_name(name)
            )
            watchers = [AssetWatcher(name=f"intake_{name}_ready", trigger=trigger)]
        out.append(
            Asset(name=f"intake_{name}", uri=f"islandbridge://intake/{name}", watchers=watchers)
        )
    return out
