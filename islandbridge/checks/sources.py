"""Every source reachable, and its columns matching its contract on a sample."""

from __future__ import annotations

from islandbridge.checks.core import CheckContext, Finding

__all__ = ["sources"]


def _location_key(spec) -> str:
    """The setting that says where the source is (``path``, ``url_env``, …)."""
    if spec.file is not None:
        return "path"
    settings = spec.sql if spec.sql is not None else spec.http
    return next((k for k in ("url_env", "conn_id", "url") if getattr(settings, k, None)), "")


def sources(cc: CheckContext) -> list[Finding]:
    """Probe each source to reach (:func:`connectors.probe.probe_source`): files present,
    database connects, API answers; columns as the mapping says on a sample."""
    from connectors import ExtractContext
    from connectors.probe import probe_source

    if not cc.reach:
        return []
    context = ExtractContext(sources_dir=cc.run.sources_dir, env=dict(cc.env))
    found = []
    for name in cc.sources:
        spec = cc.run.config.source(name)
        probe = probe_source(spec, context)
        where = cc.source_at(name, spec.connector, _location_key(spec))
        found += [Finding("sources", p, where, name) for p in probe.problems]
        found += [Finding("sources", p, where, name, transient=True) for p in probe.unreachable]
        found += [Finding("sources", n, where, name, "warning") for n in probe.warnings]
    return found
