"""Many universities on one Airflow: the universities folder and what each entry claims.

``ISLANDBRIDGE_UNIVERSITIES_DIR`` names a folder holding one small YAML per university,
``<id>.yaml`` (the id — lower-case letters, digits, ``_`` — names its DAGs)::

    config: qinglan/islandbridge.yaml   # its pipeline configuration (relative: to this file)
    data_dir: /srv/islandbridge/qinglan # its own data folder
    schedule: "0 2 * * *"               # cron or preset; null: only triggered runs
    queue: islandbridge_qinglan         # its Celery queue (default: islandbridge_<id>)
    run_as: ib_qinglan                  # its worker's OS account (optional; the plan checks it)

The pipeline configuration names the university's secrets (keyring, signing key, vault,
trust store); the entry says where, when, and on which workers. An entry that does not
load (a typo, a configuration that does not validate) is refused alone. Two entries
that claim the same data folder, secret, vault, publish folder or queue — or one whose
data folder or secrets lie inside another's data folder — are both refused: sharing
either would let one university's worker read the other's restricted zones or keys.
Messages name files, fields and paths, never a value read from data.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import Field, field_validator

from connectors.specs import StrictModel
from islandbridge.config import ConfigError, load_config
from islandbridge.context import RunContext
from islandbridge.located_yaml import validate_yaml
from islandbridge.secrets import SecretError

__all__ = [
    "UNIVERSITIES_ENV",
    "University",
    "UniversityEntry",
    "UniversityFolder",
    "claims",
    "load_universities",
    "overlap_problems",
    "universities_dir",
    "university_overlaps",
]

#: the environment variable naming the universities folder
UNIVERSITIES_ENV = "ISLANDBRIDGE_UNIVERSITIES_DIR"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_NAME = r"^[A-Za-z0-9_.-]{1,64}$"
_PRESETS = {"@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly"}


class UniversityEntry(StrictModel):
    """One entry of the universities folder (see the module docstring)."""

    config: str = Field(description="the pipeline configuration (relative: to the entry)")
    data_dir: str = Field(description="the university's own data folder")
    schedule: str | None = Field("@daily", description="cron or preset; null: triggered only")
    queue: str | None = Field(None, pattern=_NAME, description="its Celery queue")
    run_as: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_-]{0,31}$", description="OS account")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        from croniter import croniter

        if value is None or value in _PRESETS or croniter.is_valid(value):
            return value
        raise ValueError(f"not a cron expression nor one of {sorted(_PRESETS)}")


@dataclass(frozen=True)
class University:
    """A loaded entry: the university's id, files, schedule and queue."""

    id: str
    entry: Path
    config_path: Path
    data_dir: Path
    schedule: str | None
    queue: str
    run_as: str | None = None

    def dag_id(self, kind: str) -> str:
        """The id of this university's ``kind`` DAG, e.g. ``qinglan.campus_integration``."""
        return f"{self.id}.{kind}"

    def context(self) -> RunContext:
        """A context on its configuration and data folder (for the checks; not a run)."""
        return RunContext(self.data_dir, self.config_path, "universities", date(2000, 1, 1))


@dataclass
class UniversityFolder:
    """The universities of a folder, and every refused entry with its reasons."""

    folder: Path
    universities: list[University] = field(default_factory=list)
    refused: dict[Path, list[str]] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """One line per refused entry: the file, then why."""
        return [f"{path}: {'; '.join(why)}" for path, why in sorted(self.refused.items())]


def universities_dir() -> Path | None:
    """The universities folder from ``ISLANDBRIDGE_UNIVERSITIES_DIR``; None when unset."""
    value = os.environ.get(UNIVERSITIES_ENV, "").strip()
    return Path(value).resolve() if value else None


def _load_entry(path: Path) -> University:
    """One entry, its paths resolved and its configuration validated; ``ValueError``
    (naming the file and field) when it does not load."""
    uid = path.stem
    if not _ID.match(uid):
        raise ValueError(
            "the file name must be the university's id: lower-case letters, digits and _, "
            "starting with a letter, at most 32 characters"
        )
    entry, problems = validate_yaml(path, UniversityEntry)
    if entry is None or problems:
        raise ValueError("invalid entry: " + "; ".join(p.message for p in problems))
    config = Path(entry.config)
    config = (config if config.is_absolute() else path.parent / config).resolve()
    data_dir = Path(entry.data_dir)
    if not data_dir.is_absolute():
        raise ValueError("data_dir must be an absolute path")
    try:
        load_config(config)
    except ConfigError as exc:
        where = [p.where for p in exc.problems] or [str(config)]
        raise ValueError(f"its configuration does not load ({', '.join(where)})") from None
    except OSError as exc:
        raise ValueError(f"its configuration {config} cannot be read ({exc.strerror})") from None
    return University(
        id=uid,
        entry=path,
        config_path=config,
        data_dir=data_dir.resolve(),
        schedule=entry.schedule,
        queue=entry.queue or f"islandbridge_{uid}",
        run_as=entry.run_as,
    )


@dataclass(frozen=True)
class Claim:
    """Something one university holds alone: a ``file``, a ``folder`` (and all below it)
    or a ``name`` (a queue, an environment variable, an Airflow Variable)."""

    what: str
    value: str
    kind: str = "folder"

    def __str__(self) -> str:
        return f"{self.what} {self.value}"

    def covers(self, other: Claim) -> bool:
        """``other`` is this, or (a path) lies inside this folder."""
        if "name" in (self.kind, other.kind):
            return self.kind == other.kind and (self.what, self.value) == (other.what, other.value)
        if self.value == other.value:
            return True
        return self.kind == "folder" and Path(other.value).is_relative_to(self.value)


def claims(ctx: RunContext, queue: str | None = None) -> list[Claim]:
    """Everything the university of ``ctx`` must not share with another: its data folder,
    publish folder, every secret place, named key sources and (given) its queue."""
    from islandbridge.secret_checks import secret_places

    out = [
        Claim("data folder", str(ctx.data_dir.resolve())),
        Claim("publish folder", str(ctx.publish_root.resolve())),
    ]
    for what, path, folder in secret_places(ctx):
        out.append(Claim(what, str(path), "folder" if folder else "file"))
    keys = ctx.config.keys
    if keys.env:
        out.append(Claim("key environment variable", keys.env, "name"))
    if keys.airflow_variable:
        out.append(Claim("key Airflow Variable", keys.airflow_variable, "name"))
    if ctx.config.vault.startswith("env:"):
        out.append(Claim("vault URL variable", ctx.config.vault[4:], "name"))
    if queue:
        out.append(Claim("queue", queue, "name"))
    return out


def overlap_problems(mine: list[Claim], other: University, theirs: list[Claim]) -> list[str]:
    """Why a university (its ``claims``) may not live beside ``other`` (``theirs``):
    something both hold, or a path of one inside a folder of the other; one reason per
    claim, none for what lies inside a folder already reported."""
    problems: list[str] = []
    reported: list[Claim] = []
    for claim in mine:
        if any(r.covers(claim) for r in reported):
            continue  # inside a folder of its own already reported
        for held in theirs:
            if claim.covers(held) and held.covers(claim):
                problems.append(f"its {claim} is also {other.id}'s ({other.entry.name})")
            elif held.covers(claim):
                problems.append(f"its {claim} lies inside {other.id}'s {held}")
            elif claim.covers(held):
                problems.append(f"{other.id}'s {held} lies inside its {claim}")
            else:
                continue
            reported.append(claim)
            break
    return problems


def _entries(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
    )


def load_universities(folder: Path) -> UniversityFolder:
    """Every entry of ``folder``: loaded, or refused with the reasons (see the module)."""
    result = UniversityFolder(folder)
    try:
        entries = _entries(folder)
    except OSError as exc:
        result.refused[folder] = [f"the universities folder cannot be read ({exc.strerror})"]
        return result
    loaded: list[tuple[University, list[Claim]]] = []
    ids: dict[str, Path] = {}
    for path in entries:
        try:
            university = _load_entry(path)
            if university.id in ids:
                raise ValueError(f"the id {university.id} is also {ids[university.id].name}'s")
            ids[university.id] = path
            loaded.append((university, claims(university.context(), university.queue)))
        except (ValueError, SecretError) as exc:
            result.refused.setdefault(path, []).append(str(exc))
        except Exception as exc:  # confined to this entry; third-party text withheld
            result.refused.setdefault(path, []).append(
                f"could not be loaded ({type(exc).__name__})"
            )
    for university, mine in loaded:
        for other, theirs in loaded:
            if other is not university:
                problems = overlap_problems(mine, other, theirs)
                result.refused.setdefault(university.entry, []).extend(problems)
    result.refused = {path: why for path, why in result.refused.items() if why}
    result.universities = [u for u, _ in loaded if u.entry not in result.refused]
    return result


def university_overlaps(ctx: RunContext) -> list[str]:
    """Where this run's data folder or secrets overlap another university of the
    universities folder, or — where its own entry names ``run_as`` — the run is not on
    that OS account (empty when no folder is set, or all is well). An entry that does
    not load is skipped here: it is refused on its own and runs nowhere."""
    from islandbridge.identity import os_account

    folder = universities_dir()
    if folder is None or not folder.is_dir():
        return []
    data_dir = ctx.data_dir.resolve()
    mine = claims(ctx)
    problems = []
    for path in _entries(folder):
        try:
            other = _load_entry(path)
            if other.data_dir == data_dir:  # this university's own entry
                account = os_account()
                if other.run_as and other.run_as != account:
                    problems.append(
                        f"its entry {path.name} runs it as {other.run_as}, not {account}: "
                        f"is the task on another queue's worker?"
                    )
                continue
            theirs = claims(other.context())
        except (ValueError, SecretError):
            continue
        problems += overlap_problems(mine, other, theirs)
    return [f"this run's university: {p}" for p in problems]
