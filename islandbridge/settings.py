"""Policies a run reads beside the pipeline configuration: quality rules and field privacy."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from islandbridge.context import RunContext

if TYPE_CHECKING:
    pass

__all__ = ["privacy_policy", "quality_config"]


@cache
def _quality(path: Path):
    from quality import load_quality_config

    return load_quality_config(path)


@cache
def _privacy(path: Path):
    from anonymize import load_policy

    return load_policy(path)


def quality_config(ctx: RunContext):
    """The quality rules the configuration names (validated on load)."""
    return _quality(ctx.expand(ctx.config.quality))


def privacy_policy(ctx: RunContext):
    """The field privacy policy the configuration names (validated on load)."""
    return _privacy(ctx.expand(ctx.config.privacy_policy))
