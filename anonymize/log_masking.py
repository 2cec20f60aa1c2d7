"""Masking of anything shaped like a resident ID number or a mobile number in logs.

A second line of defence: code of ours never logs a cell value, but a third-party
message might quote one. :class:`MaskingFilter` rewrites each record's message (and
its formatted traceback) before a handler writes it; :func:`mask_stream` does the
same for a child process's output copied into a log file. Shapes, not checks: any
18-character run of 17 digits and a digit or ``X`` (ASCII or full-width), and any
Chinese mobile (``1[3-9]`` + 9 digits, optionally ``+86``/``86`` and ``-``/space
separators) standing alone, becomes ``[id-number]`` / ``[mobile]``. A masked number
may have been something else (an 11-digit count); that is the price of the defence.
"""

from __future__ import annotations

import logging
import re
from typing import BinaryIO

__all__ = ["MaskingFilter", "install_log_masking", "mask_stream", "mask_text"]

_D = "[0-9０-９]"
_EDGE_BEFORE = "(?<![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])"
_EDGE_AFTER = "(?![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])"
_ID = re.compile(f"{_EDGE_BEFORE}{_D}{{17}}(?:{_D}|[XxＸｘ]){_EDGE_AFTER}")
_MOBILE = re.compile(
    f"{_EDGE_BEFORE}(?:[+＋]?[8８][6６][- ]?)?[1１][3-9３-９]{_D}[- ]?{_D}{{4}}[- ]?{_D}{{4}}"
    f"{_EDGE_AFTER}"
)
ID_MASK = "[id-number]"
MOBILE_MASK = "[mobile]"


def mask_text(text: str) -> str:
    """``text`` with every ID-number-shaped and mobile-shaped run replaced."""
    return _MOBILE.sub(MOBILE_MASK, _ID.sub(ID_MASK, text))


class MaskingFilter(logging.Filter):
    """A handler filter that masks ID numbers and mobiles in the message and traceback.

    Attach it to handlers (a logger's own filters do not see records propagated from
    its children); usable from ``logging.config.dictConfig`` as
    ``{"()": "anonymize.log_masking.MaskingFilter"}``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler's own error path
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_log_masking(logger: logging.Logger | None = None) -> MaskingFilter:
    """Attach one :class:`MaskingFilter` to every handler of ``logger`` (default: root)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        existing = [f for f in handler.filters if isinstance(f, MaskingFilter)]
        if existing:
            continue
        handler.addFilter(MaskingFilter())
    return next(
        (f for h in target.handlers for f in h.filters if isinstance(f, MaskingFilter)),
        MaskingFilter(),
    )


def mask_stream(source: BinaryIO, sink: BinaryIO) -> int:
    """Copy ``source`` to ``sink`` line by line, masked; returns the lines copied.

    Bytes that are not UTF-8 pass through unchanged (they cannot hold the ASCII or
    full-width digits masked here in any other way).
    """
    n = 0
    for raw in iter(source.readline, b""):
        text = raw.decode("utf-8", errors="surrogateescape")
        sink.write(mask_text(text).encode("utf-8", errors="surrogateescape"))
        sink.flush()
        n += 1
    return n
