"""The run contract: every path of a run's folder and of the data folder, and the typed
result of each stage.

This is the one module that spells a run file's name. Stages exchange the results
below as small JSON (through XCom) and also leave them in the run folder, so a later
stage, a later run (which carries sources over) or the report can read them without
re-reading the data. Restricted zones (landing, work, quarantine, tokens, linked) are
created owner-only.

A run folder::

    runs/<run>/plan.json                        RunPlan
    runs/<run>/results/<source>.<stage>.json    ExtractResult / ValidateResult / PseudonymiseResult
    runs/<run>/results/{link,publish}.json      LinkResult / PublishOutcome
    runs/<run>/summary.json                     the run summary (report stage)
    runs/<run>/landing/<source>.parquet         raw rows, department columns
    runs/<run>/landing/<source>.provenance.json inputs, checksums, signature verdicts
    runs/<run>/work/<source>.accepted.parquet   canonical rows that passed the quality gate
    runs/<run>/quarantine/<source>.{refused,quality,link}.parquet
    runs/<run>/tokens/<source>.parquet          pseudonymised rows
    runs/<run>/tokens/<source>.rejected_keys.parquet  key tokens of rows the gate rejected
    runs/<run>/linked/<source>.parquet          linked rows (person_key)
    runs/<run>/linked/_persons.parquet          the person index
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # connectors' import is heavy: a DAG file's parse must not pay it
    from connectors.partitions import SourcePart

__all__ = [
    "CARRIED_FILES",
    "READY_SUFFIX",
    "RUN_ZONES",
    "DataLayout",
    "ExtractResult",
    "LinkResult",
    "PartLayout",
    "PartResult",
    "PseudonymiseResult",
    "PublicationRecord",
    "PublishOutcome",
    "RefusedInput",
    "RunLayout",
    "RunPlan",
    "SourceOrigin",
    "SourceStatus",
    "ValidateResult",
    "read_result",
    "ready_flag_name",
    "safe_name",
    "write_result",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")

#: run sub-folder → the retention setting that governs it
RUN_ZONES = {
    "landing": "landing",
    "quarantine": "quarantine",
    "work": "work",
    "tokens": "work",
    "linked": "work",
}


def _restricted(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def safe_name(text: str) -> str:
    """A run id or source name as a file name (only ``A-Za-z0-9_.-``)."""
    return _UNSAFE.sub("_", text)


# -- typed results ------------------------------------------------------------------------


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class SourceOrigin(_Result):
    """The run whose extraction a source's data comes from, and when that run started
    (kept while the source's inputs are unchanged, so identical inputs give an identical
    publication)."""

    run_id: str
    run_at: str
    inputs_sha256: list[str] = Field(default_factory=list)


class RefusedInput(_Result):
    location: str
    reason: str
    rows: int
    rows_unknown: bool = False


class ExtractResult(_Result):
    source: str
    mode: Literal["fresh", "carried"]
    rows: int
    refused: list[RefusedInput] = Field(default_factory=list)
    #: provenance of each input (location, sha256, size, encoding, rows, signature)
    inputs: list[dict[str, Any]] = Field(default_factory=list)
    origin: SourceOrigin
    #: incremental SQL: the watermark reached (committed only after the run publishes)
    watermark: dict[str, Any] | None = None


class ValidateResult(_Result):
    source: str
    rows_in: int
    accepted: int
    quarantined: int
    reasons: dict[str, int] = Field(default_factory=dict)
    data_docs: str = ""
    #: an incremental source: accepted rows of the last publication kept beside this
    #: run's new rows (those the new rows replace are dropped), part of ``accepted``
    carried_rows: int = 0
    carried_from: str = ""


class PseudonymiseResult(_Result):
    source: str
    rows: int
    key_id: str
    #: output column → operator
    operators: dict[str, str] = Field(default_factory=dict)
    unpoliced: list[str] = Field(default_factory=list)
    vaulted: dict[str, int] = Field(default_factory=dict)
    retokenised: bool = False


class SourceStatus(_Result):
    """How a source took part in a run: extracted now, carried over unchanged from the
    last publication, or failed (and then carried, when an earlier publication has it)."""

    source: str
    status: Literal["fresh", "carried", "failed"]
    carried: bool
    origin: SourceOrigin | None = None
    problem: str = ""


class LinkResult(_Result):
    persons: int
    index: dict[str, int]
    #: source → {in, linked, quarantined, reasons}
    sources: dict[str, dict[str, Any]]
    status: dict[str, SourceStatus]


class PublishOutcome(_Result):
    status: Literal["published", "refused"]
    message: str = ""
    version: str | None = None
    path: str = ""
    tables: dict[str, int] = Field(default_factory=dict)
    row_accounting: dict[str, dict[str, int]] = Field(default_factory=dict)
    rejects: dict[str, dict[str, int]] = Field(default_factory=dict)
    privacy: dict[str, Any] = Field(default_factory=dict)
    shrink: list[dict[str, Any]] = Field(default_factory=list)
    shrink_overridden: bool = False
    key_id: str = ""


class PartResult(_Result):
    """A per-source stage's result for one partition, with the partition it was made for
    (a :class:`connectors.SourcePart`'s JSON)."""

    part: dict[str, Any]
    stage: Literal["extract", "validate", "pseudonymise"]
    result: dict[str, Any]


class PublicationRecord(_Result):
    """Restricted record of a published version: the run folder holding every source's
    files (for carrying them into later runs) and each source's origin."""

    version: str
    run_id: str
    key_id: str
    sources: dict[str, SourceOrigin]


class RunPlan(_Result):
    """What a run will do; decided by the plan (or intake) task before anything is written."""

    run_id: str
    data_dir: str
    config_path: str = ""
    run_date: str
    #: when the run started (its logical time); the same for every retry of the run
    started_at: str
    kind: Literal["scheduled", "partial", "intake"] = "scheduled"
    #: every configured source, in configuration order
    sources: list[str]
    #: sources extracted in this run; the others are carried from ``previous``
    fresh: list[str]
    previous: PublicationRecord | None = None
    #: the active token key: every carried source must be tokenised under it
    key_id: str
    allow_shrink: bool = False
    drops: dict[str, list[dict[str, str]]] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    #: fresh sources above their size threshold → their partitions (each a
    #: :class:`connectors.SourcePart`'s JSON), each extracted, validated and tokenised by
    #: its own tasks, then combined per source
    partitions: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)

    @property
    def carried(self) -> list[str]:
        return [s for s in self.sources if s not in self.fresh]

    @property
    def labels(self) -> list[str]:
        """The per-source chains' task labels: a source, or ``source#index`` per partition."""
        return [
            label
            for s in self.sources
            for label in (
                [f"{s}#{i}" for i in range(len(self.partitions[s]))]
                if s in self.partitions
                else [s]
            )
        ]

    def parts(self, source: str) -> list[SourcePart]:
        """The partitions of ``source`` (none: it is read whole)."""
        from connectors.partitions import SourcePart

        return [SourcePart.model_validate(p) for p in self.partitions.get(source, [])]

    def part_of(self, label: str) -> SourcePart | None:
        """The partition a task label names (None: a whole source)."""
        source, _, index = label.rpartition("#")
        parts = self.partitions.get(source, [])
        if index.isdigit() and int(index) < len(parts):
            return self.parts(source)[int(index)]
        if label not in self.sources:
            raise KeyError(f"no source or partition {label!r} in this run")
        return None


_R = TypeVar("_R", bound=_Result)


def write_result(result: _Result, path: Path) -> dict[str, Any]:
    """Write a result (temp file, owner-only, rename); returns its JSON for XCom."""
    data = result.to_json()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return data


def read_result(cls: type[_R], path: Path) -> _R:
    return cls.model_validate_json(path.read_text(encoding="utf-8"))


# -- the run folder -----------------------------------------------------------------------

_STAGES = ("extract", "validate", "pseudonymise")
#: per source, the files a later run carries over (everything but the raw landing)
CARRIED_FILES = (
    "provenance",
    "refused_quarantine",
    "accepted",
    "quality_quarantine",
    "tokens",
    "rejected_keys",
    "extract_result",
    "validate_result",
    "pseudonymise_result",
)


class RunLayout:
    """Every path of one run's folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunLayout({self.root})"

    @property
    def run_name(self) -> str:
        return self.root.name

    def zone(self, name: str) -> Path:
        """A restricted zone of this run (see :meth:`create`)."""
        if name not in RUN_ZONES:
            raise KeyError(f"unknown zone {name!r}; known: {sorted(RUN_ZONES)}")
        return self.root / name

    def create(self) -> RunLayout:
        """Create the run folder and its zones, owner-only (paths never create folders, so
        reading a destroyed run's files cannot bring its folders back)."""
        for name in (*RUN_ZONES, "results"):
            _restricted(self.root / name)
        return self

    def _in(self, zone: str, name: str) -> Path:
        return self.zone(zone) / name

    # files of the run
    @property
    def plan(self) -> Path:
        return self.root / "plan.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def failures(self) -> Path:
        """Why a source's stage failed: one JSON line per failed attempt."""
        return self.root / "results" / "failures.jsonl"

    def result(self, stage: str, source: str | None = None) -> Path:
        """The typed result of a stage (of one source for the per-source stages)."""
        if source is None:
            return self.root / "results" / f"{stage}.json"
        if stage not in _STAGES:
            raise KeyError(f"no per-source stage {stage!r}; known: {_STAGES}")
        return self.root / "results" / f"{safe_name(source)}.{stage}.json"

    # files of a source
    def landing(self, source: str) -> Path:
        return self._in("landing", f"{safe_name(source)}.parquet")

    def provenance(self, source: str) -> Path:
        return self._in("landing", f"{safe_name(source)}.provenance.json")

    def accepted(self, source: str) -> Path:
        return self._in("work", f"{safe_name(source)}.accepted.parquet")

    def refused_quarantine(self, source: str) -> Path:
        """The records of the source's inputs refused whole (e.g. a bad signature)."""
        return self._in("quarantine", f"{safe_name(source)}.refused.parquet")

    def quality_quarantine(self, source: str) -> Path:
        return self._in("quarantine", f"{safe_name(source)}.quality.parquet")

    def link_quarantine(self, source: str) -> Path:
        return self._in("quarantine", f"{safe_name(source)}.link.parquet")

    def tokens(self, source: str) -> Path:
        return self._in("tokens", f"{safe_name(source)}.parquet")

    def rejected_keys(self, source: str) -> Path:
        """Key tokens (domain, token) of the source's rows the quality gate rejected: a
        roster's, so that linkage can tell a person whose roster row was rejected from
        one on no roster. Tokens only, never published."""
        return self._in("tokens", f"{safe_name(source)}.rejected_keys.parquet")

    def linked(self, source: str) -> Path:
        return self._in("linked", f"{safe_name(source)}.parquet")

    @property
    def persons(self) -> Path:
        return self._in("linked", "_persons.parquet")

    def source_file(self, kind: str, source: str) -> Path:
        """A per-source file by kind (see :data:`CARRIED_FILES`)."""
        if kind.endswith("_result"):
            return self.result(kind.removesuffix("_result"), source)
        return getattr(self, kind)(source)

    def quarantine_files(self, source: str) -> list[Path]:
        return [self.quality_quarantine(source), self.link_quarantine(source)]

    def part(self, source: str, index: int) -> PartLayout:
        """The files of one partition of ``source``."""
        return PartLayout(self, source, index)

    def carry_from(self, previous: RunLayout, source: str) -> None:
        """Link a source's finished files from ``previous`` into this run (copy across
        file systems). Raises ``FileNotFoundError`` naming the first missing kind."""
        pairs = [
            (previous.source_file(k, source), self.source_file(k, source)) for k in CARRIED_FILES
        ]
        for kind, (old, _) in zip(CARRIED_FILES, pairs, strict=True):
            if not old.is_file():
                raise FileNotFoundError(f"{kind} of source {source} in run {previous.run_name}")
        for old, new in pairs:
            new.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            new.unlink(missing_ok=True)
            try:
                os.link(old, new)
            except OSError:
                shutil.copy2(old, new)


class PartLayout:
    """Every file of one partition of a source (in the zone its whole-source file is in,
    under ``parts/<source>/``); the combine step turns them into the source's files."""

    def __init__(self, run: RunLayout, source: str, index: int) -> None:
        self.run, self.source, self.index = run, source, index

    def create(self) -> PartLayout:
        """The partition's folders, owner-only."""
        for zone in ("landing", "quarantine", "work", "tokens"):
            folder = self._in(zone, "x").parent
            _restricted(folder.parent)
            _restricted(folder)
        return self

    def _in(self, zone: str, kind: str) -> Path:
        return self.run.zone(zone) / "parts" / safe_name(self.source) / f"{self.index}.{kind}"

    @property
    def landing(self) -> Path:
        return self._in("landing", "parquet")

    @property
    def provenance(self) -> Path:
        return self._in("landing", "provenance.json")

    @property
    def refused_quarantine(self) -> Path:
        return self._in("quarantine", "refused.parquet")

    @property
    def quality_quarantine(self) -> Path:
        return self._in("quarantine", "quality.parquet")

    @property
    def accepted(self) -> Path:
        """The partition's rows the quality gate accepted, before duplicates across the
        whole source are collapsed (by the combine step)."""
        return self._in("work", "accepted.parquet")

    @property
    def tokens(self) -> Path:
        return self._in("tokens", "parquet")

    def result(self, stage: str) -> Path:
        if stage not in _STAGES:
            raise KeyError(f"no per-source stage {stage!r}; known: {_STAGES}")
        folder = self.run.root / "results" / "parts" / safe_name(self.source)
        return folder / f"{self.index}.{stage}.json"


class DataLayout:
    """Every path of a data folder (an installation) outside the runs' own folders."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)

    @property
    def runs(self) -> Path:
        return self.data_dir / "runs"

    def run(self, run_id: str) -> RunLayout:
        return RunLayout(self.runs / safe_name(run_id))

    def finished_runs(self) -> list[RunLayout]:
        """Runs that wrote a summary, newest first."""
        done = sorted(self.runs.glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
        return [RunLayout(p.parent) for p in reversed(done)]

    def run_folders(self) -> list[RunLayout]:
        return [
            RunLayout(p) for p in sorted(self.runs.glob("*")) if p.is_dir() and not p.is_symlink()
        ]

    # shared outputs
    @property
    def reports(self) -> Path:
        return self.data_dir / "reports"

    def report(self, run: RunLayout) -> Path:
        return self.reports / f"{run.run_name}.html"

    def data_docs(self, run: RunLayout, source: str | None = None) -> Path:
        root = self.reports / "data_docs" / run.run_name
        return root / safe_name(source) if source else root

    def part_data_docs(self, run: RunLayout, source: str, index: int) -> Path:
        return self.data_docs(run, source) / f"part-{index}"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def airflow_logs(self) -> Path:
        """Airflow's task logs where this data folder is its home (the demo, ``run``)."""
        return self.airflow_home / "logs"

    def log(self, run_id: str) -> Path:
        return self.logs / f"{safe_name(run_id)}.log"

    @property
    def analyst(self) -> Path:
        return self.data_dir / "analyst"

    @property
    def airflow_home(self) -> Path:
        return self.data_dir / "airflow"

    # restricted places
    @property
    def feedback(self) -> Path:
        return self.data_dir / "feedback"

    @property
    def reminders(self) -> Path:
        """Owner-only: contact lists for branch secretaries (``islandbridge remind``)."""
        return _restricted(self.data_dir / "reminders")

    def department_feedback(self, department: str) -> Path:
        """A department's feedback folder (owner-only: it holds the department's rows)."""
        return _restricted(self.feedback / safe_name(department))

    @property
    def intake(self) -> Path:
        return self.data_dir / "intake"

    def inbox(self, source: str) -> Path:
        """Where a department drops a source's export (owner-only)."""
        return _restricted(self.intake / safe_name(source))

    def intake_processed(self, source: str, run: RunLayout) -> Path:
        return self.inbox(source) / "processed" / run.run_name

    def intake_rejected(self, source: str, run: RunLayout) -> Path:
        return self.inbox(source) / "rejected" / run.run_name

    def processed_drops(self) -> list[Path]:
        return sorted(p for p in self.intake.glob("*/processed/*") if p.is_dir())

    def rejected_drops(self) -> list[Path]:
        """Refused drops and file names, one folder per source and run."""
        return sorted(
            p for p in self.intake.glob("*/rejected/*") if p.is_dir() and not p.is_symlink()
        )

    @staticmethod
    def rejects_record(folder: Path) -> Path:
        """The record (names escaped, reasons) of what a rejected-drop folder holds."""
        return folder / "rejected.json"

    @property
    def state(self) -> Path:
        return self.data_dir / "state"

    @property
    def watermarks(self) -> Path:
        return self.state / "watermarks"

    @property
    def export_sequences(self) -> Path:
        return self.state / "export_sequences"

    def export_sequence_state(self, source: str) -> Path:
        """The last accepted signed export of each of ``source``'s files (replays refused);
        owner-only, like the folder it is in."""
        return self.export_sequences / f"{safe_name(source)}.json"

    def publication_record(self, version: str) -> Path:
        return _restricted(self.state / "publications") / f"{safe_name(version)}.json"


#: the file whose appearance in ``intake/`` fires a source's intake asset
READY_SUFFIX = ".ready"


def ready_flag_name(source: str) -> str:
    return f"{source}{READY_SUFFIX}"
