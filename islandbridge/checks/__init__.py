"""``islandbridge check``: everything a run needs, validated before anything is written.

The configuration first (every problem at ``file:line:column``, with the source's name
and a did-you-mean), then each check of :data:`CHECKS` in order — secrets present,
strong and owner-only; sources reachable with the columns their mapping expects. The
CLI's ``check``, ``run`` and ``demo`` and the DAGs' plan task all call
:func:`run_checks`; nothing is written by it.

To add a check, write a small function ``(CheckContext) -> list[Finding]`` and add it
to :data:`CHECKS`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from islandbridge.checks.configuration import check_configuration
from islandbridge.checks.core import Check, CheckContext, CheckFailed, CheckReport, Finding
from islandbridge.checks.secrets import (
    anchor_store,
    keyring,
    postgres_target,
    signing_key,
    trust_store,
    vault,
)
from islandbridge.checks.sources import sources as reach_sources

__all__ = [
    "CHECKS",
    "Check",
    "CheckContext",
    "CheckFailed",
    "CheckReport",
    "Finding",
    "require_checks",
    "run_checks",
]

log = logging.getLogger(__name__)

#: The checks after the configuration's, in the order they run.
CHECKS: list[Check] = [
    keyring,
    signing_key,
    vault,
    anchor_store,
    trust_store,
    postgres_target,
    reach_sources,
]


def run_checks(
    data_dir: Path,
    config_path: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    sources: Sequence[str] | None = None,
    reach: bool = True,
) -> CheckReport:
    """Run every check; the report (never raises for what it finds).

    ``env``: the environment the run will have (default: this process's). ``sources``:
    reach only these (default: every configured source); ``reach=False`` reaches none.
    """
    ctx, findings = check_configuration(Path(data_dir), config_path)
    report = CheckReport(config_path=config_path, findings=findings, checks_run=["configuration"])
    if ctx is None:
        return report
    names = [s.name for s in ctx.config.sources]
    unknown = sorted(set(sources or []) - set(names))
    if unknown:
        report.findings.append(
            Finding("configuration", f"unknown sources {unknown}; known: {names}")
        )
        return report
    wanted = [n for n in names if sources is None or n in sources] if reach else []
    cc = CheckContext(run=ctx, env=dict(os.environ if env is None else env), sources=wanted)
    for check in CHECKS:
        try:
            report.findings.extend(check(cc))
        except Exception as exc:  # a check's own failure is a finding, never a traceback
            log.debug("check %s could not run", check.__name__, exc_info=True)
            report.findings.append(
                Finding(
                    check.__name__, f"check {check.__name__} could not run ({type(exc).__name__})"
                )
            )
        report.checks_run.append(check.__name__)
    report.sources_reached.extend(wanted)
    return report


def require_checks(
    data_dir: Path,
    config_path: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    sources: Sequence[str] | None = None,
    reach: bool = True,
    sources_block: Literal["all", "permanent", "none"] = "all",
) -> CheckReport:
    """:func:`run_checks`, raising :class:`CheckFailed` on any error; warnings are logged.

    ``sources_block`` — which source problems stop the run: ``all`` (``check``);
    ``permanent`` (``run``: a missing file, an unset variable, a broken column contract
    stop it, while a system down now is a warning — its chain retries and, failing, is
    carried over); ``none`` (the scheduled plan: one department's missing export must not
    hold back the others' publication; its chain fails and the summary says why)."""
    report = run_checks(data_dir, config_path, env=env, sources=sources, reach=reach)
    if sources_block != "all":
        report = report.as_warnings("sources", transient_only=sources_block == "permanent")
    for finding in report.warnings:
        log.warning("check: %s", finding)
    if not report.ok:
        raise CheckFailed(report)
    return report
