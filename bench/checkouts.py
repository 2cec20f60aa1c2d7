"""Other commits' code beside this tree, for benchmarks that compare old and new in one run."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["ROOT", "code_at", "installation_copy"]

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def code_at(commits: dict[str, str], workdir: Path) -> Iterator[dict[str, Path]]:
    """Clean detached checkouts of ``commits`` (label → commit, e.g. ``{"old": "21fd49d",
    "new": "HEAD"}``: what is committed, not the work tree) as ``workdir/<label>-code``,
    each with this tree's ``node_modules`` (the report's and Data Docs' scripts); removed
    on exit."""
    codes: dict[str, Path] = {}
    try:
        for label, commit in commits.items():
            folder = workdir / f"{label}-code"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), commit],
                check=True,
                capture_output=True,
            )
            codes[label] = folder
            modules = ROOT / "node_modules"
            if modules.exists() and not (folder / "node_modules").exists():
                (folder / "node_modules").symlink_to(modules.resolve())
        yield codes
    finally:
        for folder in codes.values():
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)],
                check=False,
                capture_output=True,
            )


def installation_copy(template: Path, target: Path) -> Path:
    """A fresh copy of a generated installation (its university and secrets, with the
    demo's trust store) at ``target``, so every run starts from the same files."""
    from islandbridge.demo import ensure_demo_trust_store

    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for part in ("university", "secrets"):
        shutil.copytree(template / part, target / part, symlinks=True)
    ensure_demo_trust_store(target)
    return target
