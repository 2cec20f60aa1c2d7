"""Whether a source can be read, and whether its columns match its contract, on a sample.

:func:`probe_source` does what extraction will do, on a few rows and with short
timeouts, and writes nothing: a file source's files are found and their header (and
first rows) read; a database is connected to and ``LIMIT``-ed rows of the table or
query fetched (an SQLite file that does not exist is reported, never created); an
API's first page is fetched, without retries. The columns found are compared with the
source's mapping: every mapped column present, no unexpected one (unless the source
ignores them). Problems are returned as messages that name the source, where and the
column, never a value (the same discipline as :class:`connectors.SourceError`); the
source's name is the caller's to add.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from connectors.base import ExtractContext, InputFile, SourceError, reduced_error
from connectors.specs import SourceConfig

__all__ = ["Probe", "probe_source"]

log = logging.getLogger(__name__)

#: connect timeout (seconds) by SQLAlchemy dialect
_CONNECT_TIMEOUT = {"postgresql": "connect_timeout", "mysql": "connect_timeout"}


@dataclass
class Probe:
    """What probing one source found: inputs looked at; problems in the data or the
    configuration (retrying cannot fix them); the system unreachable now (a network or
    database outage may pass); warnings (e.g. an API that returned nothing to compare)."""

    source: str
    inputs: int = 0
    sampled: int = 0
    problems: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.unreachable


def _hint(missing: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(missing, list(candidates), n=1, cutoff=0.5)
    return f" (the input has {close[0]!r}: a renamed column?)" if close else ""


def _compare(probe: Probe, spec: SourceConfig, columns: Iterable[str], where: str) -> None:
    present = [str(c) for c in columns if c != "record_key" and not str(c).startswith("__")]
    unexpected = [c for c in present if c not in spec.columns and c not in spec.ignore_columns]
    for column in spec.columns:
        if column not in present:
            probe.problems.append(
                f"{where}: mapped column {column!r} is missing" + _hint(column, unexpected)
            )
    if spec.unexpected_columns == "error":
        for column in unexpected:
            probe.problems.append(
                f"{where}: unexpected column {column!r} (map it, or list it under ignore_columns)"
            )


def _sample_spec(spec: SourceConfig, rows: int, timeout_s: float) -> SourceConfig:
    if spec.file is not None:
        return spec.model_copy(update={"file": spec.file.model_copy(update={"chunk_rows": rows})})
    if spec.sql is not None:
        return spec.model_copy(update={"sql": spec.sql.model_copy(update={"chunk_rows": rows})})
    assert spec.http is not None
    http = spec.http.model_copy(
        update={
            "page_size": min(rows, spec.http.page_size),
            "retries": 0,
            "timeout_s": min(timeout_s, spec.http.timeout_s),
        }
    )
    return spec.model_copy(update={"http": http})


def _probe_files(probe: Probe, spec: SourceConfig, context: ExtractContext, files: int) -> None:
    from connectors.files import FileConnector

    connector = FileConnector(spec, context)
    connector.sample_rows = spec.file.chunk_rows if spec.file is not None else None
    found = connector._paths()
    for path, problem in found:
        if problem is not None:
            rel = path.relative_to(context.sources_dir).as_posix()
            probe.warnings.append(f"{rel}: refused unread ({problem})")
    paths = [path for path, problem in found if problem is None]
    probe.inputs = len(found)
    probe.sampled = min(files, len(paths))
    for path in paths[:files]:
        rel = path.relative_to(context.sources_dir).as_posix()
        frames = connector._read_one(path, rel, InputFile(location=rel))
        try:
            first = next(frames, None)
        finally:
            frames.close()
        if first is not None:
            _compare(probe, spec, first.columns, rel)
    if len(paths) > files:
        log.info("source %s: %d of %d files sampled", spec.name, files, len(paths))


def _sqlite_file(url: str) -> Path | None:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def _probe_sql(
    probe: Probe, spec: SourceConfig, context: ExtractContext, rows: int, timeout_s: float
) -> None:
    from connectors.sql import SqlConnector, _redacted

    sql = spec.sql
    assert sql is not None
    connector = SqlConnector(spec, context)
    url, _ = connector._url()
    probe.inputs = probe.sampled = 1
    where = f"table {sql.table}" if sql.table else "query"
    database = _sqlite_file(url)
    if database is not None and not database.is_file():
        raise SourceError(spec.name, f"{_redacted(url)}", "database file not found")
    backend = sa.engine.make_url(url).get_backend_name()
    args = (
        {_CONNECT_TIMEOUT[backend]: max(1, int(timeout_s))} if backend in _CONNECT_TIMEOUT else {}
    )
    engine = sa.create_engine(url, connect_args=args)
    try:
        quote = engine.dialect.identifier_preparer.quote
        if sql.table:
            base = "SELECT * FROM " + ".".join(quote(p) for p in sql.table.split("."))
        else:
            base = (sql.query or "").strip().rstrip(";")
        with engine.connect() as conn:
            result = conn.execute(sa.text(f"SELECT * FROM ({base}) src LIMIT {int(rows)}"))
            columns = list(result.keys())
            result.close()
    except sa.exc.SQLAlchemyError as exc:
        problem = type(exc.orig).__name__ if getattr(exc, "orig", None) else type(exc).__name__
        raise SourceError(
            spec.name,
            f"{_redacted(url)} {where}",
            f"cannot connect or query ({problem})",
            transient=isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
            and backend != "sqlite",
        ) from None
    finally:
        engine.dispose()
    for column in (sql.key_column, sql.watermark_column):
        if column and column not in columns:
            probe.problems.append(f"{where}: key or watermark column {column!r} is missing")
    _compare(probe, spec, columns, where)


def _probe_http(probe: Probe, spec: SourceConfig, context: ExtractContext) -> None:
    from connectors.http import HttpConnector

    connector = HttpConnector(spec, context)
    chunks = connector.read()
    try:
        first = next(chunks, None)
    finally:
        chunks.close()
    probe.inputs = probe.sampled = 1
    if first is None or first.frame.empty:
        probe.warnings.append("the API returned no items: its columns were not checked")
        return
    _compare(probe, spec, first.frame.columns, first.input.location)


def probe_source(
    spec: SourceConfig,
    context: ExtractContext,
    *,
    rows: int = 20,
    files: int = 200,
    timeout_s: float = 3.0,
) -> Probe:
    """Reach ``spec`` as extraction would, on ``rows`` rows (at most ``files`` files), and
    compare its columns with the mapping; writes nothing and never raises for a problem
    of the source (it is in :attr:`Probe.problems`)."""
    probe = Probe(spec.name)
    sample = _sample_spec(spec, rows, timeout_s)
    try:
        if spec.connector == "file":
            _probe_files(probe, sample, context, files)
        elif spec.connector == "sql":
            _probe_sql(probe, sample, context, rows, timeout_s)
        else:
            _probe_http(probe, sample, context)
    except SourceError as exc:
        (probe.unreachable if exc.transient else probe.problems).append(_where(exc))
    except Exception as exc:  # a reader's or driver's text may quote a value: its type only
        probe.problems.append(_where(reduced_error(spec.name, spec.connector, "unreadable", exc)))
    return probe


def _where(exc: SourceError) -> str:
    """A SourceError's text without the source's name (the caller names the source)."""
    parts = [exc.where]
    if exc.row is not None:
        parts.append(f"row {exc.row}")
    if exc.column:
        parts.append(f"column {exc.column!r}")
    return f"{', '.join(parts)}: {exc.problem}"
