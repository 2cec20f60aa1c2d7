"""The pipeline configuration: one YAML validated into typed models on load.

Secrets are never written in it: a source names the environment variable (or
Airflow Connection / Variable) that holds a URL or token. Paths may use the
placeholders ``{data_dir}`` and ``{sources_dir}``, filled in at run time.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from connectors.specs import PartitionSettings, SourceConfig, StrictModel
from islandbridge.located_yaml import LocatedProblem, validate_yaml

__all__ = [
    "AnchorConfig",
    "ConfigError",
    "PipelineConfig",
    "ReidentificationConfig",
    "ReportConfig",
    "RetentionConfig",
    "TrustStoreConfig",
    "default_config_path",
    "load_config",
]


class ConfigError(ValueError):
    """The configuration file is missing or invalid; the message names the file, line,
    column, source and field of each problem (``problems``: the same, one by one)."""

    def __init__(self, message: str, problems: list[LocatedProblem] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class KeysConfig(StrictModel):
    env: str | None = None
    file: str | None = None
    airflow_variable: str | None = None


class PostgresTargetConfig(StrictModel):
    """Also publish into a PostgreSQL schema that a read-only analyst role may read."""

    url_env: str = Field(description="environment variable holding the SQLAlchemy URL")
    schema_name: str = Field("islandbridge", alias="schema")
    analyst_role: str = "islandbridge_analyst"


class FallbackConfig(StrictModel):
    """Probabilistic linkage, on keyed Bloom encodings, of rows that no key token links."""

    on: list[str] = Field(default_factory=lambda: ["name_bloom"])
    block_on: str | None = Field(None, description="compare only within equal values of this")
    threshold: float = Field(0.85, gt=0, le=1, description="minimum Dice similarity")
    ambiguity_margin: float = Field(0.02, ge=0, le=1, description="closer than this: ambiguous")


class LinkageConfig(StrictModel):
    name_check: str | None = Field(
        "name_bloom",
        description="encoding column compared with the roster's on a key hit (None: no check)",
    )
    name_threshold: float = Field(
        0.6, gt=0, le=1, description="a key hit whose name Dice is below this is not trusted"
    )
    fallback: dict[str, FallbackConfig] = Field(
        default_factory=dict, description="source name → probabilistic fallback"
    )


class PublishConfig(StrictModel):
    root: str = "{data_dir}/published"
    signing_key: str = "{data_dir}/secrets/service_signing.key"
    postgres: PostgresTargetConfig | None = None
    max_shrink: float = Field(
        0.2,
        ge=0,
        le=1,
        description="largest share of a table's rows a new version may lose against the "
        "current one; more (or a table or source gone) needs the steward's override",
    )


class RetentionConfig(StrictModel):
    """How many days each restricted zone of a run is kept before it is destroyed."""

    landing: int = Field(30, ge=0, description="raw landed exports (runs/*/landing)")
    quarantine: int = Field(180, ge=0, description="rejected rows (runs/*/quarantine)")
    work: int = Field(7, ge=0, description="intermediates (runs/*/work, tokens, linked)")
    intake: int = Field(30, ge=0, description="processed department drops (intake/*/processed)")
    intake_rejected: int = Field(
        30, ge=0, description="refused department drops and file names (intake/*/rejected)"
    )
    feedback: int = Field(
        90,
        ge=0,
        description="days a department has its feedback (rejected rows, notices) before it is "
        "destroyed (feedback/<department>/…, per file)",
    )
    logs: int = Field(90, ge=0, description="run logs (logs/*.log, Airflow's task logs)")
    ledger: str = Field(
        "{data_dir}/retention", description="folder of the signed destruction ledger"
    )

    def days(self, zone: str) -> int:
        return int(getattr(self, zone))


class TrustStoreConfig(StrictModel):
    """Where the departments' public keys are — the trust anchors of signed exports. One
    owner-only JSON file outside the data folder (``file``; manage it with ``islandbridge
    keys trust``), or one Airflow Connection per source, ``<airflow_connection_prefix>
    <source>``, whose extra holds ``{"keys": [...]}``."""

    file: str | None = Field(None, description="the trust store file (outside the data folder)")
    airflow_connection_prefix: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Airflow Connections per source"
    )

    @model_validator(mode="after")
    def _one(self) -> TrustStoreConfig:
        if (self.file is None) == (self.airflow_connection_prefix is None):
            raise ValueError(
                "trust_store: give exactly one of 'file' or 'airflow_connection_prefix'"
            )
        return self


#: the default trust store: beside the data folder, not in it
DEFAULT_TRUST_STORE = "{data_dir}.trust/trust_store.json"


class AnchorConfig(StrictModel):
    """Where the heads of the publication ledger and the vault audit are anchored (sealed):
    ``vault_db`` (a table in the vault database), ``sql`` (another database, URL in an
    environment variable), ``file`` (an owner-only folder outside the published zone) or
    ``airflow_variable`` (Airflow Variables ``<variable_prefix><chain>``)."""

    store: Literal["vault_db", "sql", "file", "airflow_variable"] = "vault_db"
    url_env: str | None = Field(None, description="sql: environment variable holding the URL")
    folder: str | None = Field(None, description="file: the anchor folder")
    variable_prefix: str = Field("islandbridge_anchor_", pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    @model_validator(mode="after")
    def _complete(self) -> AnchorConfig:
        if self.store == "sql" and not self.url_env:
            raise ValueError("anchor.store sql needs anchor.url_env")
        if self.store == "file" and not self.folder:
            raise ValueError("anchor.store file needs anchor.folder")
        return self


class ReidentificationConfig(StrictModel):
    """What a re-identification reason must match, whole. Unset: the vault's default
    (``anonymize.vault.DEFAULT_REASON_PATTERN``: a case or ticket number such as
    ``ZZB-2026-0042``, then ``:`` or a space, then at least ten characters)."""

    reason_pattern: str | None = Field(
        None, description="regular expression the whole reason must match"
    )

    @field_validator("reason_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"reason_pattern is not a valid regular expression: {exc}") from None
        return value


class ReportConfig(StrictModel):
    """What the run report and the reminders say."""

    language: Literal["zh", "en"] = Field("zh", description="the run report's language")
    inactive_months: int = Field(
        3,
        ge=1,
        le=36,
        description="a party member with no participation in this many months is inactive",
    )


class PipelineConfig(StrictModel):
    university: str
    as_of: date | None = Field(
        None, description="reference date for 'future' checks; run date if absent"
    )
    sources_dir: str = "{data_dir}/university/sources"
    keys: KeysConfig = KeysConfig(file="{data_dir}/secrets/keyring.json")
    vault: str = Field(
        "{data_dir}/vault/vault.sqlite",
        description="re-identification vault: SQLite path, or the name of an env var holding a URL",
    )
    privacy_policy: str = "privacy.yaml"
    quality: str = "quality.yaml"
    publish: PublishConfig = PublishConfig()
    linkage: LinkageConfig = LinkageConfig()
    retention: RetentionConfig = RetentionConfig()
    anchor: AnchorConfig = AnchorConfig()
    trust_store: TrustStoreConfig = TrustStoreConfig(file=DEFAULT_TRUST_STORE)
    reidentification: ReidentificationConfig = ReidentificationConfig()
    report: ReportConfig = ReportConfig()
    batch_rows: int = Field(
        500_000,
        ge=1,
        description="rows per record batch in the validate and pseudonymise stages: "
        "their memory is bounded by a batch, whatever the size of a source",
    )
    #: above which size a source is split into partitions (a source's own ``partition``
    #: replaces it); unset thresholds: never
    partitions: PartitionSettings = PartitionSettings()
    sources: list[SourceConfig]

    @model_validator(mode="after")
    def _unique(self) -> PipelineConfig:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate source names: {dupes}")
        unknown = sorted(set(self.linkage.fallback) - set(names))
        if unknown:
            raise ValueError(f"linkage.fallback names unknown sources {unknown}; known: {names}")
        return self

    def partition_settings(self, name: str) -> PartitionSettings:
        """The partition thresholds of source ``name``: its own, else the installation's."""
        return self.source(name).partition or self.partitions

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(f"unknown source {name!r}; known: {[s.name for s in self.sources]}")


def default_config_path() -> Path:
    """The demo university's configuration shipped with the project."""
    return Path(__file__).resolve().parent.parent / "config" / "islandbridge.yaml"


def load_config(path: Path | None = None) -> tuple[PipelineConfig, Path]:
    """Load and validate the YAML; returns the model and the file's folder (for relative
    paths). Raises :class:`ConfigError` listing every problem at its ``file:line:column``."""
    path = path or default_config_path()
    config, problems = validate_yaml(path, PipelineConfig)
    if config is None or problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise ConfigError(f"{path}: invalid configuration:\n{lines}", problems)
    return config, path.parent
