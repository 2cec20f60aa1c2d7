"""How an upload accepted by the portal starts the ``department_intake`` run.

One small base class, one class per way, registered in :data:`TRIGGER_KINDS`:

* ``flag`` — write ``<data_dir>/intake/<source>.ready``: the source's intake Asset
  watches for it (see :mod:`islandbridge.assets`), so Airflow runs the DAG;
* ``airflow_rest`` — ``POST /api/v2/dags/<dag_id>/dagRuns`` with ``conf.sources``;
* ``asset_event`` — ``POST /api/v2/assets/events`` on the source's intake Asset
  (``intake_<source>``), as the watcher would;
* ``none`` — leave it queued in the inbox for the next scheduled or manual run.

The Airflow API token is read from the environment variable the settings name; it is
never logged. A failed trigger leaves the upload queued (the steward sees it).
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod

import httpx

from islandbridge.portal.settings import PortalSettings
from islandbridge.run_layout import DataLayout, ready_flag_name

__all__ = ["TRIGGER_KINDS", "IntakeTrigger", "TriggerError", "trigger_for"]

log = logging.getLogger(__name__)


class TriggerError(RuntimeError):
    """The intake run could not be started (the message names the way and the status)."""


class IntakeTrigger(ABC):
    """Starts the intake run of one source."""

    kind: str = ""

    def __init__(self, settings: PortalSettings) -> None:
        self.settings = settings

    @abstractmethod
    def fire(self, source: str, upload_id: str) -> str:
        """Start the run; returns what was done (no secret), raises :class:`TriggerError`."""


class FlagTrigger(IntakeTrigger):
    kind = "flag"

    def fire(self, source: str, upload_id: str) -> str:
        intake = DataLayout(self.settings.data_dir).intake
        intake.mkdir(parents=True, exist_ok=True, mode=0o700)
        flag = intake / ready_flag_name(source)
        tmp = intake / f".{ready_flag_name(source)}.{upload_id}.tmp"
        tmp.write_bytes(b"")
        tmp.replace(flag)
        return f"flag {flag.name}"


class _AirflowApi(IntakeTrigger):
    def _client(self) -> httpx.Client:
        token = os.environ.get(self.settings.airflow_token_env, "")
        if not token:
            raise TriggerError(f"no Airflow API token in ${self.settings.airflow_token_env}")
        return httpx.Client(
            base_url=self.settings.airflow_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=15.0,
        )

    @staticmethod
    def _ok(response: httpx.Response, what: str) -> None:
        if response.status_code >= 300:
            raise TriggerError(f"{what}: Airflow answered HTTP {response.status_code}")


class AirflowRestTrigger(_AirflowApi):
    kind = "airflow_rest"

    def fire(self, source: str, upload_id: str) -> str:
        conf = {"sources": [source], "data_dir": str(self.settings.data_dir)}
        if self.settings.config is not None:
            conf["config"] = str(self.settings.config)
        dag = self.settings.dag_id
        try:
            with self._client() as client:
                response = client.post(
                    f"/api/v2/dags/{dag}/dagRuns",
                    json={"logical_date": None, "conf": conf, "note": f"portal upload {upload_id}"},
                )
        except httpx.HTTPError as exc:
            raise TriggerError(f"trigger {dag}: {type(exc).__name__}") from None
        self._ok(response, f"trigger {dag}")
        run_id = str(response.json().get("dag_run_id", ""))
        return f"{dag} run {run_id}"


class AssetEventTrigger(_AirflowApi):
    kind = "asset_event"

    def fire(self, source: str, upload_id: str) -> str:
        name = f"intake_{source}"
        try:
            with self._client() as client:
                found = client.get("/api/v2/assets", params={"name_pattern": name, "limit": 50})
                self._ok(found, "asset lookup")
                ids = [a["id"] for a in found.json().get("assets", []) if a.get("name") == name]
                if not ids:
                    raise TriggerError(f"Airflow holds no asset {name}")
                response = client.post(
                    "/api/v2/assets/events",
                    json={"asset_id": ids[0], "extra": {"portal_upload": upload_id}},
                )
        except httpx.HTTPError as exc:
            raise TriggerError(f"asset event {name}: {type(exc).__name__}") from None
        self._ok(response, f"asset event {name}")
        return f"asset event {name}"


class NoTrigger(IntakeTrigger):
    kind = "none"

    def fire(self, source: str, upload_id: str) -> str:
        return "queued for the next run"


TRIGGER_KINDS: dict[str, type[IntakeTrigger]] = {
    cls.kind: cls for cls in (FlagTrigger, AirflowRestTrigger, AssetEventTrigger, NoTrigger)
}


def trigger_for(settings: PortalSettings) -> IntakeTrigger:
    """The configured trigger; an unknown kind fails with the known ones."""
    try:
        return TRIGGER_KINDS[settings.trigger](settings)
    except KeyError:
        raise ValueError(
            f"unknown portal trigger {settings.trigger!r}; known: {sorted(TRIGGER_KINDS)}"
        ) from None
