"""The command line prints a user's error as one line and exit 2, never a traceback;
--verbose shows the traceback; a third-party error is named by its type only."""

from __future__ import annotations

import subprocess
import sys


def _cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "islandbridge.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_a_missing_key_is_one_line_without_traceback(tmp_path):
    result = _cli("verify", "--data-dir", str(tmp_path / "none"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'none' / 'secrets' / 'service_signing.key'}: "
        "signing key file not found"
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_verbose_shows_the_traceback(tmp_path):
    result = _cli("-v", "verify", "--data-dir", str(tmp_path / "none"), cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr
