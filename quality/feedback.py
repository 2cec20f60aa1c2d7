"""Per-department feedback: a department's own rejected rows, in its own column names,
with the reasons in Chinese and English, as CSV (in the department's encoding) and xlsx.

A department sees only its own rows: rows are selected by the provenance ``source``.
The files hold the department's own personal data, so they are written owner-only.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from quality.reasons import describe_reason
from quality.restricted_files import write_restricted

__all__ = ["FEEDBACK_COLUMNS", "feedback_frame", "write_department_feedback"]

logger = logging.getLogger(__name__)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

#: Headers of the columns the service adds (Chinese / English).
FEEDBACK_COLUMNS: dict[str, str] = {
    "record_key": "记录位置 Record",
    "codes": "问题代码 Codes",
    "zh": "问题说明",
    "en": "Problem",
    "duplicate_of": "重复于 Duplicate of",
}


def _text(codes: str, language: str) -> str:
    separator = "；" if language == "zh" else "; "
    return separator.join(getattr(describe_reason(c), language) for c in codes.split(";") if c)


def _encode(text: str, encoding: str, department: str) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        lost = sum(1 for ch in set(text) if not ch.isascii() and not _encodable(ch, encoding))
        logger.warning(
            "%s feedback: %d distinct characters not representable in %s, written as '?'",
            department,
            lost,
            encoding,
        )
        return text.encode(encoding, errors="replace")


def _encodable(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def feedback_frame(
    quarantined: pd.DataFrame, department: str, column_names: Mapping[str, str]
) -> pd.DataFrame:
    """The department's rejected rows: its own columns (canonical → its name) + reasons."""
    own = quarantined[quarantined["source"] == department]
    out = pd.DataFrame({FEEDBACK_COLUMNS["record_key"]: own["record_key"].astype("string")})
    for canonical, theirs in column_names.items():
        if canonical not in own.columns:
            continue
        values = own[canonical]
        if pd.api.types.is_datetime64_any_dtype(values):
            values = values.dt.strftime("%Y-%m-%d")
        out[theirs] = values.astype("string")
    codes = own["reasons"].astype("string").fillna("")
    out[FEEDBACK_COLUMNS["codes"]] = codes
    out[FEEDBACK_COLUMNS["zh"]] = codes.map(lambda c: _text(c, "zh"))
    out[FEEDBACK_COLUMNS["en"]] = codes.map(lambda c: _text(c, "en"))
    if "duplicate_of" in own.columns:
        out[FEEDBACK_COLUMNS["duplicate_of"]] = own["duplicate_of"].astype("string")
    return out.reset_index(drop=True)


def write_department_feedback(
    quarantined: pd.DataFrame,
    out_dir: Path,
    *,
    department: str,
    column_names: Mapping[str, str],
    encoding: str = "gbk",
    run_id: str = "",
) -> dict[str, Path]:
    """Write ``<out_dir>/<department>[_<run_id>]_rejected.{csv,xlsx}`` for one department.

    ``department`` is the provenance ``source`` of its rows; ``column_names`` maps canonical
    columns to the department's own headers (only mapped columns are shown); ``encoding``
    is the department's CSV encoding. Characters the encoding cannot hold become ``?``
    (counted in the log, never echoed). Returns ``{"csv": path, "xlsx": path}``.
    """
    for label, value in (("department", department), ("run_id", run_id or "x")):
        if not _SAFE_NAME.match(value):
            raise ValueError(f"{label} may hold only letters, digits, '_', '-', '.'")
    frame = feedback_frame(quarantined, department, column_names)
    stem = f"{department}_{run_id}_rejected" if run_id else f"{department}_rejected"
    text = frame.to_csv(index=False, lineterminator="\r\n")
    data = _encode(text, encoding, department)
    paths = {
        "csv": write_restricted(Path(out_dir) / f"{stem}.csv", lambda h: h.write(data)),
        "xlsx": write_restricted(Path(out_dir) / f"{stem}.xlsx", lambda h: _write_xlsx(frame, h)),
    }
    logger.info("%s feedback: %d rejected rows written", department, len(frame))
    return paths


def _write_xlsx(frame: pd.DataFrame, handle: BinaryIO) -> None:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name="退回记录")
    handle.write(buffer.getvalue())
