"""Typed specifications of departmental sources, validated when the configuration loads.

A source names its connector (file, sql, http), where the data is, how department
columns map to canonical fields, and whether its exports must be signed. Secrets
are named (environment variable), never written here.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain import ENTITIES, PROVENANCE_FIELDS, check_date_shapes

__all__ = [
    "ColumnParse",
    "FileSpec",
    "HttpSpec",
    "PartitionSettings",
    "SignatureSpec",
    "SourceConfig",
    "SqlSpec",
    "StrictModel",
]


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
    chunk_rows: int = Field(100_000, gt=0, description="rows per chunk (CSV, JSON Lines)")
    max_field_chars: int = Field(
        1_000_000,
        gt=0,
        description="longest CSV field (or JSON Lines record) accepted; longer is an error",
    )
    merged_cells: Literal["reject", "fill_down"] = Field(
        "reject",
        description="xlsx: rows of a merged range over mapped data cells are quarantined with "
        "a reason naming the range (reject), or every cell takes the range's value (fill_down)",
    )
    name_pattern: str | None = Field(
        None,
        description="regular expression a file's name must match whole (besides the path's "
        "glob); other names are refused at intake and extraction",
    )

    @field_validator("name_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                where = f" at position {exc.pos}" if exc.pos is not None else ""
                raise ValueError(
                    f"name_pattern is not a regular expression ({type(exc).__name__}{where})"
                ) from None
        return value


def _one_location(spec: SqlSpec | HttpSpec) -> None:
    given = [n for n in ("url", "url_env", "conn_id") if getattr(spec, n) is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one of 'url', 'url_env' or 'conn_id' (got {given})")


class SqlSpec(StrictModel):
    url: str | None = Field(None, description="SQLAlchemy URL without secrets (embedded SQLite)")
    url_env: str | None = Field(None, description="environment variable holding the URL")
    conn_id: str | None = Field(None, description="Airflow connection id holding the URL")
    table: str | None = None
    query: str | None = None
    key_column: str = Field(description="column that identifies a row (record key)")
    key_prefix: str | None = Field(None, description="record key prefix; the table by default")
    chunk_rows: int = Field(50_000, gt=0)
    watermark_column: str | None = Field(
        None,
        description="incremental extraction: only rows with this column above the stored "
        "watermark (advanced only when the run publishes)",
    )

    @model_validator(mode="after")
    def _one_of(self) -> SqlSpec:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of 'table' or 'query'")
        _one_location(self)
        return self


class HttpSpec(StrictModel):
    url: str | None = None
    url_env: str | None = None
    conn_id: str | None = Field(
        None, description="Airflow connection id: its URL, and its password as the bearer token"
    )
    token_env: str | None = Field(None, description="environment variable holding the bearer token")
    items_field: str = "items"
    pagination: Literal["page", "offset", "cursor"] = "page"
    page_param: str = "page"
    offset_param: str = "offset"
    cursor_param: str = "cursor"
    next_cursor_field: str = Field(
        "next_cursor", description="dotted path of the next cursor in the body (cursor style)"
    )
    size_param: str = "page_size"
    page_size: int = Field(500, gt=0)
    first_page: int = 1
    key_field: str
    key_prefix: str
    timeout_s: float = 30.0
    retries: int = 3

    @model_validator(mode="after")
    def _url(self) -> HttpSpec:
        _one_location(self)
        return self


class ColumnParse(StrictModel):
    """How one canonical field's values are written in a source (absent: the defaults)."""

    dates: list[str] | None = Field(
        None,
        description="accepted date shapes (domain.DATE_SHAPES), e.g. [ymd_sep, ym_cn, excel_1900]",
    )
    decimal: Literal["point", "comma"] | None = Field(
        None, description="decimal mark of a number or amount; the other mark groups thousands"
    )

    @model_validator(mode="after")
    def _shapes(self) -> ColumnParse:
        if self.dates is not None:
            check_date_shapes(self.dates)
        return self


class SignatureSpec(StrictModel):
    """Whether a file source's exports must carry a signed manifest, verified against the
    trust store (``trust_store:`` in the pipeline configuration)."""

    required: bool = False
    public_key: str | None = Field(
        None,
        description="no longer accepted: a department's public key beside its exports can be "
        "swapped with them; register it in the trust store instead",
    )
    branch_field: str | None = Field(
        None,
        description="signed per branch: the canonical field taken from the file name that "
        "holds the branch (e.g. branch_id); the manifest must name that branch and be signed "
        "by that branch's own key",
    )

    @model_validator(mode="after")
    def _no_key_beside_the_data(self) -> SignatureSpec:
        if self.public_key is not None:
            raise ValueError(
                "signature.public_key is no longer accepted: a public key in the sources folder "
                "can be swapped together with the export it vouches for. Register the key in "
                "the trust store (islandbridge keys trust) and remove public_key"
            )
        return self


class PartitionSettings(StrictModel):
    """Above which size a source is extracted and processed as partitions (separate
    tasks, so several workers share it): ``max_rows`` (a SQL table's rows, a Parquet
    file's rows) and/or ``max_bytes`` (a file source's bytes); unset: never split."""

    max_rows: int | None = Field(None, gt=0, description="split a source above this many rows")
    max_bytes: int | None = Field(None, gt=0, description="split a file source above this size")
    max_parts: int = Field(8, ge=2, le=256, description="at most this many partitions")


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
    blank_values: list[str] = Field(
        default_factory=list,
        description="what the department writes for 'no value' (e.g. 无, —, /): read as empty "
        "in every mapped column (a form that says 'fill every box; write 无 where none')",
    )
    unexpected_columns: Literal["error", "ignore"] = "error"
    to_simplified: list[str] = Field(
        default_factory=list,
        description="text fields converted traditional → simplified Chinese (OpenCC t2s)",
    )
    derive_from_id: list[Literal["birth_date", "gender"]] = Field(
        default_factory=list,
        description="fields the source lacks, taken from the resident ID number (GB 11643)",
    )
    parse: dict[str, ColumnParse] = Field(
        default_factory=dict,
        description="canonical field → accepted value shapes (dates, decimal mark)",
    )
    signature: SignatureSpec = SignatureSpec()
    encoding_for_feedback: str = "utf-8-sig"
    feedback_scope: str | None = Field(
        None,
        description="canonical field that decides who receives a rejected row: one feedback "
        "folder per value (e.g. branch_id, so each branch secretary gets only their own); "
        "taken from the file name where the field comes from there",
    )
    partition: PartitionSettings | None = Field(
        None, description="this source's partition thresholds (default: the installation's)"
    )

    @model_validator(mode="after")
    def _check(self) -> SourceConfig:
        ent = ENTITIES.get(self.entity)
        if ent is None:
            raise ValueError(f"unknown entity {self.entity!r}; known: {sorted(ENTITIES)}")
        spec = {"file": self.file, "sql": self.sql, "http": self.http}[self.connector]
        if spec is None:
            raise ValueError(f"connector {self.connector!r} needs a '{self.connector}' section")
        known = set(ent.field_names)
        targets = [
            *self.columns.values(),
            *self.constants,
            *self.values,
            *self.derive_from_id,
            *self.parse,
            *([self.feedback_scope] if self.feedback_scope else []),
        ]
        if self.file:
            targets += list(self.file.filename_fields)
        for target in targets:
            if target not in known:
                raise ValueError(
                    f"source {self.name!r}: {target!r} is not a field of {self.entity!r}; "
                    f"known: {sorted(known)}"
                )
        for target in self.to_simplified:
            if target not in known or ent.field(target).dtype != "string":
                raise ValueError(
                    f"source {self.name!r}: to_simplified names {target!r}, "
                    f"not a text field of {self.entity!r}"
                )
        for target, how in self.parse.items():
            dtype = ent.field(target).dtype if target in known else None
            if how.dates is not None and dtype != "date":
                raise ValueError(
                    f"source {self.name!r}: parse.{target}.dates names a field that is not a "
                    f"date of {self.entity!r}"
                )
            if how.decimal is not None and dtype not in ("int", "float"):
                raise ValueError(
                    f"source {self.name!r}: parse.{target}.decimal names a field that is not a "
                    f"number of {self.entity!r}"
                )
        branch_field = self.signature.branch_field
        if branch_field and (self.file is None or branch_field not in self.file.filename_fields):
            raise ValueError(
                f"source {self.name!r}: signature.branch_field {branch_field!r} must be a field "
                "taken from the file name (file.filename_fields)"
            )
        if self.feedback_scope and self.feedback_scope_column() is None:
            raise ValueError(
                f"source {self.name!r}: feedback_scope {self.feedback_scope!r} is neither "
                "mapped from a column nor taken from the file name"
            )
        if any(t in PROVENANCE_FIELDS for t in self.columns.values()):
            raise ValueError("provenance fields are set by the connector, not mapped")
        return self

    def signed_branch(self, file_name: str) -> str | None:
        """The branch a file's name gives, for a source signed per branch (else None)."""
        field = self.signature.branch_field
        if not field or self.file is None:
            return None
        how = self.file.filename_fields[field]
        return PurePosixPath(file_name).stem if how == "stem" else file_name

    def field_labels(self) -> dict[str, str]:
        """Canonical field → what the department calls it: its column (the first mapped
        to the field), else ``文件名`` for a field taken from the file name. A reader's
        problem in an unmapped column keeps that column's name (mapped to itself)."""
        labels: dict[str, str] = {}
        for column, target in self.columns.items():
            labels.setdefault(target, column)
        for column in self.ignore_columns:
            labels.setdefault(column, column)
        if self.file:
            for target in self.file.filename_fields:
                labels.setdefault(target, "文件名")
        return labels

    def feedback_scope_column(self) -> str | None:
        """The landed (raw) column that holds the feedback scope: the file-name field where
        the scope comes from the file name, else the department column mapped to it."""
        scope = self.feedback_scope
        if scope is None:
            return None
        if self.file and scope in self.file.filename_fields:
            return f"__file_{scope}"
        return next((col for col, field in self.columns.items() if field == scope), None)
