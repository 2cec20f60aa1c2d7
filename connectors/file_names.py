"""Which file names and folder entries a department may hand over.

A name that reaches the service from a department (a drop in the intake inbox, a file
in the sources folder) is accepted only if it is a plain, printable UTF-8 name that
matches the source's pattern: no control or format characters (a newline, a bidi
override), no path separator (also full-width or percent-encoded, ``..%2f``), no
``..``, no leading dot, not blank at either end, at most 255 bytes. The entry itself
must be a regular file: a symbolic link (above all one pointing outside the folder),
a folder, a FIFO or a device is refused, and so is a hard link (a second name of a
file the department may not own). Each problem is a reason code (``name_*``, or
``symlink*``, ``not_a_regular_file``, ``hard_link``), never the name itself, so a
name can be logged as its reason; :func:`display_name` renders a name safely
(escaped) for the restricted records that must show it.
"""

from __future__ import annotations

import fnmatch
import re
import stat
import unicodedata
from pathlib import Path

__all__ = [
    "ENTRY_PROBLEMS",
    "NAME_PROBLEMS",
    "display_name",
    "entry_problem",
    "name_problem",
]

#: reason codes of a refused name
NAME_PROBLEMS = (
    "name_not_utf8",
    "name_control_character",
    "name_path_separator",
    "name_percent_encoded",
    "name_dot_dot",
    "name_dot_file",
    "name_blank",
    "name_too_long",
    "name_not_matching",
    "name_unknown_branch",
)
#: reason codes of a refused folder entry (whatever its name)
ENTRY_PROBLEMS = ("symlink", "symlink_outside_folder", "not_a_regular_file", "hard_link")

_MAX_NAME_BYTES = 255
#: separators of a path in any of the forms a consumer may turn into one
_SEPARATORS = frozenset("/\\\u2215\u2044\uff0f\uff3c\u29f5\u29f8\u29f9")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
#: control (Cc), format (Cf: bidi overrides, zero-width), line/paragraph separators,
#: surrogates, private use and unassigned code points
_UNPRINTABLE = frozenset(("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"))


def name_problem(name: str, *, glob: str | None = None, pattern: str | None = None) -> str | None:
    """The first problem of a file name (a reason code), or None for an acceptable one.

    ``glob``: the name must match it (``fnmatch``, case-sensitive); ``pattern``: a
    regular expression the whole name must match. Names come from ``os.listdir`` with
    undecodable bytes as surrogate escapes, which count as not UTF-8.
    """
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return "name_not_utf8"
    if not name.strip():
        return "name_blank"
    if any(unicodedata.category(c) in _UNPRINTABLE for c in name):
        return "name_control_character"
    if any(c in _SEPARATORS for c in name):
        return "name_path_separator"
    if _PERCENT.search(name):
        return "name_percent_encoded"
    if ".." in name:
        return "name_dot_dot"
    if name.startswith((".", "\uff0e")):
        return "name_dot_file"
    if name != name.strip():
        return "name_blank"
    if len(encoded) > _MAX_NAME_BYTES:
        return "name_too_long"
    if glob is not None and not fnmatch.fnmatchcase(name, glob):
        return "name_not_matching"
    if pattern is not None and not re.fullmatch(pattern, name):
        return "name_not_matching"
    return None


def entry_problem(path: Path) -> str | None:
    """The problem of a folder entry as a file to read (never following a link), or None
    for a regular file with one name."""
    try:
        info = path.lstat()
    except OSError:
        return "not_a_regular_file"
    if stat.S_ISLNK(info.st_mode):
        folder = path.parent.resolve()
        try:
            target = (path.parent / path.readlink()).resolve()
        except (OSError, RuntimeError):  # unreadable or a loop
            return "symlink_outside_folder"
        if target != folder and folder not in target.parents:
            return "symlink_outside_folder"
        return "symlink"
    if not stat.S_ISREG(info.st_mode):
        return "not_a_regular_file"
    if info.st_nlink > 1:
        return "hard_link"
    return None


def display_name(name: str, limit: int = 120) -> str:
    """A name as printable text for a restricted record or a notice: undecodable bytes as
    ``\\xNN``, unprintable characters as ``\\uNNNN``, cut to ``limit`` characters."""
    raw = name.encode("utf-8", "surrogateescape")
    text = raw.decode("utf-8", "backslashreplace")
    shown = "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in _UNPRINTABLE else c for c in text
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
