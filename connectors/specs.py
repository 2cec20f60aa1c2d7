"""Typed specifications of departmental sources, validated when the configuration loads.

A source names its connector (file, sql, http), where the data is, how department
columns map to canonical fields, and whether its exports must be signed. Secrets
are named (environment variable), never written here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain import ENTITIES, PROVENANCE_FIELDS

__all__ = ["FileSpec", "HttpSpec", "SignatureSpec", "SourceConfig", "SqlSpec", "StrictModel"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileSpec(StrictModel):
    path: str = Field(description="file or glob, relative to the sources folder")
    format: Literal["csv", "xlsx", "json", "jsonl", "parquet"]
    encoding: str | None = Field(None, description="declared encoding; detected when absent")
    sheet: str | None = None
    header_marker: str | None = Field(
        None, description="a column title that identifies the header row (title rows above it)"
    )
    filename_fields: dict[str, Literal["stem", "name"]] = Field(
        default_factory=dict, description="canonical field taken from the file name"
    )


class SqlSpec(StrictModel):
    url: str | None = Field(None, description="SQLAlchemy URL without secrets (embedded SQLite)")
    url_env: str | None = Field(None, description="environment variable holding the URL")
    table: str | None = None
    query: str | None = None
    key_column: str = Field(description="column that identifies a row (record key)")
    key_prefix: str | None = Field(None, description="record key prefix; the table by default")
    chunk_rows: int = 50_000

    @model_validator(mode="after")
    def _one_of(self) -> SqlSpec:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of 'table' or 'query'")
        if self.url is None and self.url_env is None:
            raise ValueError("give 'url' or 'url_env'")
        return self


class HttpSpec(StrictModel):
    url: str | None = None
    url_env: str | None = None
    token_env: str | None = Field(None, description="environment variable holding the bearer token")
    items_field: str = "items"
    page_param: str = "page"
    size_param: str = "page_size"
    page_size: int = 500
    first_page: int = 1
    key_field: str
    key_prefix: str
    timeout_s: float = 30.0
    retries: int = 3

    @model_validator(mode="after")
    def _url(self) -> HttpSpec:
        if self.url is None and self.url_env is None:
            raise ValueError("give 'url' or 'url_env'")
        return self


class SignatureSpec(StrictModel):
    required: bool = False
    public_key: str | None = Field(None, description="PEM file, relative to the sources folder")


class SourceConfig(StrictModel):
    name: str
    department: str
    entity: str
    connector: Literal["file", "sql", "http"]
    file: FileSpec | None = None
    sql: SqlSpec | None = None
    http: HttpSpec | None = None
    columns: dict[str, str] = Field(description="department column → canonical field")
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="canonical field → {department value: canonical value}"
    )
    constants: dict[str, str] = Field(default_factory=dict)
    ignore_columns: list[str] = Field(
        default_factory=list, description="department columns deliberately not ingested"
    )
    unexpected_columns: Literal["error", "ignore"] = "error"
    derive_from_id: list[Literal["birth_date", "gender"]] = Field(
        default_factory=list,
        description="fields the source lacks, taken from the resident ID number (GB 11643)",
    )
    signature: SignatureSpec = SignatureSpec()
    encoding_for_feedback: str = "utf-8-sig"

    @model_validator(mode="after")
    def _check(self) -> SourceConfig:
        ent = ENTITIES.get(self.entity)
        if ent is None:
            raise ValueError(f"unknown entity {self.entity!r}; known: {sorted(ENTITIES)}")
        spec = {"file": self.file, "sql": self.sql, "http": self.http}[self.connector]
        if spec is None:
            raise ValueError(f"connector {self.connector!r} needs a '{self.connector}' section")
        known = set(ent.field_names)
        targets = [*self.columns.values(), *self.constants, *self.values, *self.derive_from_id]
        if self.file:
            targets += list(self.file.filename_fields)
        for target in targets:
            if target not in known:
                raise ValueError(
                    f"source {self.name!r}: {target!r} is not a field of {self.entity!r}; "
                    f"known: {sorted(known)}"
                )
        if any(t in PROVENANCE_FIELDS for t in self.columns.values()):
            raise ValueError("provenance fields are set by the connector, not mapped")
        return self
