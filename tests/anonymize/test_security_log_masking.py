"""Security: logs mask ID-number and mobile shapes, and run logs are owner-only (issue 17)."""

from __future__ import annotations

import io
import logging
import stat
import subprocess
import sys

import pytest

from anonymize.log_masking import MaskingFilter, install_log_masking, mask_stream, mask_text

ID = "110101199003077777"


@pytest.mark.parametrize(
    "leak",
    [
        ID,
        "11010119900307777X",
        "11010119900307777x",
        "１１０１０１１９９００３０７７７７７",
        "13812345678",
        "+8613812345678",
        "86-13812345678",
        "138 1234 5678",
        "138-1234-5678",
    ],
)
def test_id_and_mobile_shapes_are_masked(leak):
    text = f"row 17: value {leak} rejected; next {leak}."
    masked = mask_text(text)
    assert leak not in masked and "row 17" in masked
    assert "[id-number]" in masked or "[mobile]" in masked


@pytest.mark.parametrize(
    "kept",
    [
        "sha256 3f2a9c0b7d1e4f5a6b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c",
        "version 2ce4465496a6ef4e8e1c",
        "run manual_20260630T120000",
        "6454 persons, 11 suppressed",
        "token k1:ekjuallsodhof2tcpnpl5qxsc36nmbxe",
    ],
)
def test_ordinary_log_text_is_left_alone(kept):
    assert mask_text(kept) == kept


def _logger_with_filter() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger(f"test.masking.{id(stream)}")
    logger.propagate = False
    logger.addHandler(handler)
    return logger, stream


def test_a_third_party_message_quoting_a_cell_is_masked():
    logger, stream = _logger_with_filter()
    logger.warning("could not parse %r in column %s", f"{ID} ", "sfzh")
    logger.warning("call 13812345678 back")
    out = stream.getvalue()
    assert ID not in out and "13812345678" not in out and "sfzh" in out


def test_a_traceback_quoting_a_cell_is_masked():
    logger, stream = _logger_with_filter()
    try:
        int(f"{ID}年")
    except ValueError:
        logger.exception("conversion failed")
    out = stream.getvalue()
    assert "Traceback" in out and ID not in out and "[id-number]" in out


def test_install_adds_one_filter_per_root_handler():
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    try:
        install_log_masking()
        install_log_masking()
        assert sum(isinstance(f, MaskingFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)


def test_the_cli_installs_masking_on_its_handlers():
    from islandbridge.cli import _main

    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    try:
        _main(verbose=False)
        assert any(isinstance(f, MaskingFilter) for f in handler.filters)
    finally:
        root.removeHandler(handler)


def test_a_child_process_output_is_masked_on_its_way_to_the_log():
    child = subprocess.Popen(
        [sys.executable, "-c", f"print('id {ID} phone 13812345678'); print(b'\\xff'.hex())"],
        stdout=subprocess.PIPE,
    )
    sink = io.BytesIO()
    assert mask_stream(child.stdout, sink) == 2
    child.wait()
    assert ID.encode() not in sink.getvalue() and b"[mobile]" in sink.getvalue()


def test_run_logs_are_owner_only_and_masked(tmp_path, monkeypatch):
    from islandbridge import airflow_local

    real_popen = subprocess.Popen

    def fake_child(args, **kwargs):  # stands for the Airflow child: prints a cell value
        return real_popen([sys.executable, "-c", f"print('bad row {ID}')"], **kwargs)

    monkeypatch.setattr(airflow_local.subprocess, "Popen", fake_child)
    home = tmp_path / "airflow"
    home.mkdir()
    (home / "airflow.db").touch()  # skip the migration
    log_path = tmp_path / "logs" / "run.log"
    code = airflow_local.run_dag(
        "campus_integration", {}, airflow_home=home, log_path=log_path, extra_env={}
    )
    assert code == 0
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_path.parent.stat().st_mode) == 0o700
    text = log_path.read_text(encoding="utf-8")
    assert ID not in text and "bad row [id-number]" in text


def test_an_existing_world_readable_log_is_tightened(tmp_path, monkeypatch):
    from islandbridge import airflow_local

    real_popen = subprocess.Popen
    monkeypatch.setattr(
        airflow_local.subprocess,
        "Popen",
        lambda args, **kw: real_popen([sys.executable, "-c", "print('ok')"], **kw),
    )
    home = tmp_path / "airflow"
    home.mkdir()
    (home / "airflow.db").touch()
    log_path = tmp_path / "logs" / "run.log"
    log_path.parent.mkdir(mode=0o755)
    log_path.write_text("earlier\n")
    log_path.chmod(0o644)
    airflow_local.run_dag("x", {}, airflow_home=home, log_path=log_path, extra_env={})
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_path.parent.stat().st_mode) == 0o700


def test_airflow_task_logs_are_made_owner_only(tmp_path):
    from islandbridge.airflow_local import airflow_env

    env = airflow_env(tmp_path / "airflow")
    assert env["AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS"] == "0o700"
    assert env["AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS"] == "0o600"
