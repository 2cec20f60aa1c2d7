"""Findings, the report, and the context every check reads.

A check is a small function ``(CheckContext) -> list[Finding]``; the list of checks run
is :data:`islandbridge.checks.CHECKS`. A check never writes anything and never raises
for what it finds: a problem is a :class:`Finding` (an ``error`` stops the run, a
``warning`` is shown). Findings name where the cause is — ``file:line:column`` of the
setting in the configuration where there is one — and the source, never a value or a
secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Literal

from islandbridge.context import RunContext
from islandbridge.errors import StageRefused
from islandbridge.located_yaml import YamlPositions

__all__ = ["Check", "CheckContext", "CheckFailed", "CheckReport", "Finding"]

log = logging.getLogger(__name__)

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One thing a check found."""

    check: str
    message: str
    where: str = ""
    source: str | None = None
    severity: Severity = "error"
    #: the system could not be reached now (an outage may pass; a retry may succeed)
    transient: bool = False

    def __str__(self) -> str:
        named = f"source {self.source!r}: " if self.source else ""
        where = f"{self.where}: " if self.where else ""
        return f"{where}{named}{self.message}"


@dataclass(frozen=True)
class CheckReport:
    """Every finding of a check run, and what was looked at."""

    config_path: Path | None
    findings: list[Finding] = field(default_factory=list)
    checks_run: list[str] = field(default_factory=list)
    sources_reached: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_warnings(self, check: str, *, transient_only: bool = False) -> CheckReport:
        """The report with ``check``'s errors (only its transient ones, with
        ``transient_only``) downgraded to warnings."""
        findings = [
            replace(f, severity="warning")
            if f.check == check and (f.transient or not transient_only)
            else f
            for f in self.findings
        ]
        return replace(self, findings=findings)

    def render(self, limit: int = 20) -> str:
        """A short list for a terminal: one line per finding, errors first."""
        shown = [*self.errors, *self.warnings]
        head = (
            f"check FAILED: {len(self.errors)} problem(s)"
            if self.errors
            else f"check ok: {len(self.checks_run)} checks, "
            f"{len(self.sources_reached)} sources reached"
        )
        if self.warnings:
            head += f", {len(self.warnings)} warning(s)"
        lines = [head + (f" — {self.config_path}" if self.config_path else "")]
        for finding in shown[:limit]:
            mark = "✗" if finding.severity == "error" else "!"
            lines.append(f"  {mark} {finding}")
        if len(shown) > limit:
            lines.append(f"  … and {len(shown) - limit} more")
        return "\n".join(lines)


class CheckFailed(StageRefused):
    """The checks found errors: nothing was written. The message lists them."""

    def __init__(self, report: CheckReport) -> None:
        super().__init__(report.render())
        self.report = report


@dataclass
class CheckContext:
    """What a check reads: the installation (configuration loaded), the environment the
    run will have, which sources to reach, and where each setting is written."""

    run: RunContext
    env: Mapping[str, str]
    sources: Sequence[str]
    reach: bool = True

    @cached_property
    def positions(self) -> YamlPositions:
        from islandbridge.config import default_config_path

        return YamlPositions(self.run.config_path or default_config_path())

    def at(self, *loc: object) -> str:
        """``file:line:column`` of a setting of the pipeline configuration."""
        return self.positions.at(loc)

    def source_at(self, name: str, *loc: object) -> str:
        """``file:line:column`` of a setting of source ``name`` (of the source where the
        setting is not written)."""
        index = self.positions.source_index(name)
        if index is None:
            return self.at()
        return self.positions.at(("sources", index, *loc), nearest=True)


#: a check: a small function of the context returning what it found
Check = Callable[[CheckContext], list[Finding]]
