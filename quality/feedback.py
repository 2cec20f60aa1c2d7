"""Per-department feedback: a department's own rejected rows, in its own column names,
with the reasons in Chinese and English, as CSV (in the department's encoding) and xlsx.

A department sees only its own rows: rows are selected by the provenance ``source``;
:func:`write_scoped_feedback` narrows further, one folder per branch (or any scoping
column), so a branch secretary receives only their branch's rows. A department whose
export was refused whole (no rows to return) gets a bilingual notice instead
(:func:`write_refusal_notice`). The files hold the department's own personal data, so
they are written owner-only.

Every value is written as text, never as something a spreadsheet evaluates: a cell or
CSV field beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or their
full-width forms) is prefixed with ``'`` (:func:`neutralise_cell`) — except a plain
number such as ``-3`` or ``+86…``, which no spreadsheet runs — and xlsx cells are typed
as strings, so a rejected ``=HYPERLINK(…)`` is shown, not run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from quality.reasons import ReasonCatalogue, ReasonText
from quality.restricted_files import write_restricted
from quality.xlsx_text import write_text_xlsx

__all__ = [
    "FEEDBACK_COLUMNS",
    "UNASSIGNED_SCOPE",
    "feedback_frame",
    "neutralise_cell",
    "write_department_feedback",
    "write_refusal_notice",
    "write_scoped_feedback",
]

logger = logging.getLogger(__name__)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

#: the folder of rows whose scoping value is missing, unsafe as a folder name, or unknown
UNASSIGNED_SCOPE = "_unassigned"
_FORMULA_START = tuple("=+-@\t\r＝＋－＠")
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9]+(?:\.[0-9]+)?$")

#: Headers of the columns the service adds (Chinese / English).
FEEDBACK_COLUMNS: dict[str, str] = {
    "record_key": "记录位置 Record",
    "codes": "问题代码 Codes",
    "zh": "问题说明",
    "en": "Problem",
    "duplicate_of": "重复于 Duplicate of",
}


def neutralise_cell(value: object) -> object:
    """``value`` made inert for a spreadsheet: text that a spreadsheet would read as a
    formula (leading ``= + - @``, tab, CR, or full-width ``＝＋－＠``) gets a leading ``'``;
    plain numbers and non-text values are returned as they are."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    if _PLAIN_NUMBER.match(value):
        return value
    return "'" + value


def _neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.columns = [str(neutralise_cell(str(c))) for c in frame.columns]
    for column in out.columns:
        out[column] = out[column].map(neutralise_cell, na_action="ignore")
    return out


def _text(
    codes: str, language: str, catalogue: ReasonCatalogue, labels: Mapping[str, str] | None
) -> str:
    separator = "；" if language == "zh" else "; "
    return separator.join(
        getattr(catalogue.describe(c, labels), language) for c in codes.split(";") if c
    )


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
    quarantined: pd.DataFrame,
    department: str,
    column_names: Mapping[str, str],
    *,
    field_labels: Mapping[str, str] | None = None,
    reasons: ReasonCatalogue | None = None,
) -> pd.DataFrame:
    """The department's rejected rows: its own columns (canonical → its name) + reasons.

    ``field_labels`` (canonical field → the department's column) make a reason about a
    field name the department's column; ``reasons`` adds the university's own codes."""
    catalogue = reasons or ReasonCatalogue()
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
    out[FEEDBACK_COLUMNS["zh"]] = codes.map(lambda c: _text(c, "zh", catalogue, field_labels))
    out[FEEDBACK_COLUMNS["en"]] = codes.map(lambda c: _text(c, "en", catalogue, field_labels))
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
    field_labels: Mapping[str, str] | None = None,
    reasons: ReasonCatalogue | None = None,
) -> dict[str, Path]:
    """Write ``<out_dir>/<department>[_<run_id>]_rejected.{csv,xlsx}`` for one department.

    ``department`` is the provenance ``source`` of its rows; ``column_names`` maps canonical
    columns to the department's own headers (only mapped columns are shown); ``encoding``
    is the department's CSV encoding. Characters the encoding cannot hold become ``?``
    (counted in the log, never echoed). ``field_labels`` and ``reasons``: see
    :func:`feedback_frame`. Returns ``{"csv": path, "xlsx": path}``.
    """
    for label, value in (("department", department), ("run_id", run_id or "x")):
        if not _SAFE_NAME.match(value):
            raise ValueError(f"{label} may hold only letters, digits, '_', '-', '.'")
    frame = feedback_frame(
        quarantined, department, column_names, field_labels=field_labels, reasons=reasons
    )
    stem = f"{department}_{run_id}_rejected" if run_id else f"{department}_rejected"
    paths = _write_pair(frame, Path(out_dir), stem, encoding, department)
    logger.info("%s feedback: %d rejected rows written", department, len(frame))
    return paths


def _write_pair(
    frame: pd.DataFrame,
    out_dir: Path,
    stem: str,
    encoding: str,
    department: str,
    *,
    neutralised: bool = False,
) -> dict[str, Path]:
    safe = frame if neutralised else _neutralised(frame)
    text = safe.to_csv(index=False, lineterminator="\r\n")
    data = _encode(text, encoding, department)
    return {
        "csv": write_restricted(out_dir / f"{stem}.csv", lambda h: h.write(data)),
        "xlsx": write_restricted(out_dir / f"{stem}.xlsx", lambda h: _write_xlsx(safe, h)),
    }


def _write_xlsx(frame: pd.DataFrame, handle: BinaryIO) -> None:
    write_text_xlsx(frame, handle, sheet="退回记录")  # every cell text: never a formula


def write_scoped_feedback(
    quarantined: pd.DataFrame,
    out_dir: Path,
    *,
    department: str,
    scope_column: str,
    column_names: Mapping[str, str],
    encoding: str = "gbk",
    run_id: str = "",
    known_scopes: Collection[str] | None = None,
    field_labels: Mapping[str, str] | None = None,
    reasons: ReasonCatalogue | None = None,
) -> dict[str, dict[str, Path]]:
    """One feedback pair per value of ``scope_column`` (e.g. ``branch_id``), each in its
    own owner-only folder ``<out_dir>/<value>/`` — so each branch secretary receives only
    their branch's rows. ``out_dir`` is the department's feedback folder.

    Rows whose scoping value is missing, not a plain name (letters, digits, ``_-.``), or
    not in ``known_scopes`` (when given) go to ``<out_dir>/_unassigned/``, for the
    department's coordinator. Scope by where a row came from (its file's branch), not by
    a value the row itself claims, where the two can differ. Returns
    ``{scope: {"csv": path, "xlsx": path}}``.
    """
    for label, value in (("department", department), ("run_id", run_id or "x")):
        if not _SAFE_NAME.match(value):
            raise ValueError(f"{label} may hold only letters, digits, '_', '-', '.'")
    own = quarantined[quarantined["source"] == department]
    if scope_column not in own.columns:
        raise ValueError(f"scope column {scope_column} is not in the quarantined rows")
    scopes = own[scope_column].astype("string").str.strip()
    valid = scopes.fillna("").map(lambda v: bool(_SAFE_NAME.match(v)) and v not in (".", ".."))
    if known_scopes is not None:
        valid &= scopes.isin(set(known_scopes)).fillna(False).astype(bool)
    assigned = scopes.where(valid, UNASSIGNED_SCOPE).reset_index(drop=True)
    framed = feedback_frame(
        own, department, column_names, field_labels=field_labels, reasons=reasons
    )
    safe = _neutralised(framed)  # once, then split by scope
    written: dict[str, dict[str, Path]] = {}
    for scope, rows in safe.groupby(assigned.to_numpy(), sort=True):
        stem = "_".join(p for p in (department, scope.lstrip("_"), run_id, "rejected") if p)
        written[scope] = _write_pair(
            rows.reset_index(drop=True),
            Path(out_dir) / scope,
            stem,
            encoding,
            department,
            neutralised=True,
        )
    logger.info(
        "%s feedback: %d rejected rows in %d scopes (%d unassigned)",
        department,
        len(own),
        len(written),
        int((assigned == UNASSIGNED_SCOPE).sum()),
    )
    return written


#: what a refused file's reason means and what to do about it
_REFUSALS: dict[str, tuple[ReasonText, ReasonText]] = {
    "signature_missing": (
        ReasonText(
            "文件没有签名清单（缺少 <文件名>.manifest.json）",
            "the file has no signed manifest (<file>.manifest.json missing)",
        ),
        ReasonText(
            "请用本部门的签名密钥签名后重新提交（islandbridge sign），签名清单与数据文件放在一起。",
            "Sign the file with your department's signing key (islandbridge sign) and send "
            "it again with its manifest beside it.",
        ),
    ),
    "signature_invalid": (
        ReasonText(
            "签名无效：文件在签名后被修改，或签名清单损坏",
            "the signature is invalid: the file changed after signing, or its manifest is damaged",
        ),
        ReasonText(
            "请勿在签名后修改文件；从原系统重新导出、重新签名后提交。如非本部门提交，请立即联系数据管理员。",
            "Do not edit the file after signing; export it again, sign it and send it. If "
            "your department did not send it, tell the data stewards at once.",
        ),
    ),
    "signature_untrusted": (
        ReasonText(
            "签名所用密钥未登记为本来源（或本支部）的签名密钥",
            "it was signed with a key not registered for this source (or this branch)",
        ),
        ReasonText(
            "请用本部门（支部书记用本支部）的签名密钥签名。如密钥已更换，请先请数据管理员登记新公钥。",
            "Sign with your own department's key (a branch secretary with their branch's "
            "key). If your key changed, ask the data stewards to register the new public key.",
        ),
    ),
    "signature_mismatch": (
        ReasonText(
            "签名清单与文件不符：清单所写的文件名、来源、部门、支部或记录数与此文件不同",
            "the signed manifest does not match the file: it names another file, source, "
            "department or branch, or another number of records",
        ),
        ReasonText(
            "请勿改名或复制他人的文件；按原文件名导出，用本部门密钥签名后提交。",
            "Do not rename a signed file or send another's; export under the expected name, "
            "sign it with your key and send it.",
        ),
    ),
    "signature_replayed": (
        ReasonText(
            "重复或过期的导出：其序号或导出时间不晚于已接收的导出",
            "a repeated or outdated export: its sequence or export time is not newer than "
            "the one already accepted",
        ),
        ReasonText(
            "请重新导出当前数据并签名（序号递增）后提交。如非本部门提交，请立即联系数据管理员。",
            "Export the current data again and sign it (a higher sequence). If your "
            "department did not send it, tell the data stewards at once.",
        ),
    ),
    "signature_legacy": (
        ReasonText(
            "只有旧式 .sig 签名，不能证明文件名、来源和导出时间",
            "it carries only an old detached .sig, which proves neither the file's name, "
            "source nor export time",
        ),
        ReasonText(
            "请用新版 islandbridge sign 重新签名（生成 .manifest.json）后提交。",
            "Sign it again with the current islandbridge sign (it writes a .manifest.json) "
            "and send it.",
        ),
    ),
}
#: refused for its name or kind (``name_*``, links, folders): the file was not read
_NAME_REFUSAL = (
    ReasonText(
        "文件名或文件类型不被接受（如含控制字符、路径分隔符、以点开头、不符合命名规则、"
        "支部代码未登记，或为链接）",
        "the file's name or kind is not accepted (control characters, path separators, a "
        "leading dot, not the expected pattern, an unregistered branch code, or a link)",
    ),
    ReasonText(
        "请按规定的文件名（如 支部代码.csv）保存为普通文件后重新提交。",
        "Save it as a plain file under the expected name (e.g. <branch code>.csv) and send "
        "it again.",
    ),
)
_NAME_REASONS = frozenset(("symlink", "symlink_outside_folder", "not_a_regular_file", "hard_link"))
_GENERIC_REFUSAL = (
    ReasonText("文件未被接收", "the file was not accepted"),
    ReasonText(
        "请联系数据管理员，说明文件名和提交时间，按要求更正后重新提交。",
        "Contact the data stewards with the file name and when you sent it; correct it as "
        "they advise and send it again.",
    ),
)
_PRINTABLE = re.compile(r"[^\w .,:;()\[\]{}/\\+@#%&=~'\-\u3000-\u303f\u4e00-\u9fff]")


def write_refusal_notice(
    out_dir: Path,
    *,
    department: str,
    refused: Mapping[str, str],
    run_id: str = "",
) -> Path:
    """A bilingual (zh/en) notice that files of ``department`` were refused whole: for each
    file (``refused``: file name → reason code such as ``signature_invalid``) the reason
    and what to do. Written owner-only, UTF-8 with BOM, to
    ``<out_dir>/<department>[_<run_id>]_refused.txt``; returns its path."""
    for label, value in (("department", department), ("run_id", run_id or "x")):
        if not _SAFE_NAME.match(value):
            raise ValueError(f"{label} may hold only letters, digits, '_', '-', '.'")
    if not refused:
        raise ValueError("no refused file to give notice of")
    title = f"数据退回通知 / Notice of refused files — {department}"
    lines = [
        title + (f" ({run_id})" if run_id else ""),
        "",
        "以下文件整体未被接收，其中的记录均未处理。",
        "The files below were refused whole; none of their records was processed.",
        "",
    ]
    for name, code in sorted(refused.items()):
        named = code.startswith("name_") or code in _NAME_REASONS
        what, todo = _REFUSALS.get(code, _NAME_REFUSAL if named else _GENERIC_REFUSAL)
        shown = _PRINTABLE.sub("?", name)[:200]
        lines += [
            f"文件 / File: {shown}",
            f"原因代码 / Reason code: {_PRINTABLE.sub('?', code)[:64]}",
            f"原因：{what.zh}",
            f"Reason: {what.en}",
            f"处理办法：{todo.zh}",
            f"What to do: {todo.en}",
            "",
        ]
    data = ("\ufeff" + "\r\n".join(lines)).encode("utf-8")
    stem = f"{department}_{run_id}_refused" if run_id else f"{department}_refused"
    path = write_restricted(Path(out_dir) / f"{stem}.txt", lambda h: h.write(data))
    logger.info("%s feedback: notice of %d refused files written", department, len(refused))
    return path
