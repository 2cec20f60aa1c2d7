"""The configuration files, validated with every problem at its ``file:line:column``.

Runs before every other check (they read the configuration): the pipeline YAML against
:class:`islandbridge.config.PipelineConfig`, then the quality rules and the privacy
policy it names, each against its own model.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from islandbridge.checks.core import Finding
from islandbridge.context import RunContext
from islandbridge.located_yaml import LocatedProblem, validate_yaml

__all__ = ["check_configuration"]


def _findings(problems: list[LocatedProblem]) -> list[Finding]:
    return [Finding("configuration", p.message, where=p.where, source=p.source) for p in problems]


def _privacy(path: Path) -> list[Finding]:
    from anonymize import AnonymizeError
    from anonymize.policy import PrivacyPolicy

    try:
        _, problems = validate_yaml(path, PrivacyPolicy)
    except AnonymizeError as exc:  # our own message (names fields, never values)
        return [Finding("configuration", str(exc), where=str(path))]
    return _findings(problems)


def check_configuration(
    data_dir: Path, config_path: Path | None
) -> tuple[RunContext | None, list[Finding]]:
    """The run context when the pipeline configuration is valid (else None), and every
    problem of it and of the quality and privacy files it names."""
    from islandbridge.config import PipelineConfig, default_config_path
    from quality.config import QualityConfig

    path = (config_path or default_config_path()).resolve()
    config, problems = validate_yaml(path, PipelineConfig)
    findings = _findings(problems)
    if config is None:
        return None, findings
    ctx = RunContext(
        data_dir=data_dir.resolve(),
        config_path=path if config_path else None,
        run_id="check",
        run_date=date.today(),  # noqa: DTZ011 - a calendar date for "as of" defaults only
    )
    quality, problems = validate_yaml(ctx.expand(config.quality), QualityConfig)
    findings += _findings(problems)
    findings += _privacy(ctx.expand(config.privacy_policy))
    if quality is not None:
        departments = {s.department for s in config.sources}
        for name in quality.source_priority:
            if name not in departments:
                findings.append(
                    Finding(
                        "configuration",
                        f"source_priority names {name!r}, which is no configured department "
                        f"(known: {', '.join(sorted(departments))})",
                        where=str(ctx.expand(config.quality)),
                        severity="warning",
                    )
                )
    return ctx, findings
