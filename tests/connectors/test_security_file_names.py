"""Issue 17, part 7 at the connector boundary: which names and folder entries are refused,
each with its reason code (the intake and the file connector both use these checks)."""

from __future__ import annotations

import os

import pytest

from connectors.file_names import display_name, entry_problem, name_problem

SURROGATE = os.fsdecode(b"B0\xff1.csv")  # how Python hands over a non-UTF-8 name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("B001\n.csv", "name_control_character"),
        ("B001\r.csv", "name_control_character"),
        ("B001\t.csv", "name_control_character"),
        ("B00\u202e1.csv", "name_control_character"),  # right-to-left override
        ("B00\u200b1.csv", "name_control_character"),  # zero-width space
        (SURROGATE, "name_not_utf8"),
        ("..%2f..%2fetc%2fpasswd", "name_percent_encoded"),
        ("B001%5c.csv", "name_percent_encoded"),
        ("a\\b.csv", "name_path_separator"),
        ("a／b.csv", "name_path_separator"),  # full-width solidus
        ("a∕b.csv", "name_path_separator"),  # division slash
        ("..", "name_dot_dot"),
        ("B001..csv", "name_dot_dot"),
        (".B001.csv", "name_dot_file"),
        (".bashrc", "name_dot_file"),
        ("   ", "name_blank"),
        (" B001.csv", "name_blank"),
        ("B001.csv ", "name_blank"),
        ("支" * 90 + ".csv", "name_too_long"),
    ],
)
def test_a_bad_name_is_refused_with_its_reason(name, reason):
    assert name_problem(name) == reason


def test_a_name_must_match_the_sources_glob_and_pattern():
    assert name_problem("notes.txt", glob="*.csv") == "name_not_matching"
    assert name_problem("B1.csv", glob="*.csv", pattern=r"B[0-9]{3}\.csv") == "name_not_matching"
    assert name_problem("B001.csv", glob="*.csv", pattern=r"B[0-9]{3}\.csv") is None


@pytest.mark.parametrize("name", ["finance_dues.csv", "人事处名册 2026.xlsx", "01U0001.csv"])
def test_plain_names_are_accepted(name):
    assert name_problem(name) is None


def test_links_hard_links_and_folders_are_refused_whatever_their_name(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "ok.csv").write_text("x")
    (folder / "inside.csv").symlink_to(folder / "ok.csv")
    (folder / "outside.csv").symlink_to(tmp_path)
    (folder / "loop.csv").symlink_to(folder / "loop.csv")
    (folder / "twice.csv").hardlink_to(tmp_path.parent / tmp_path.name / "inbox" / "ok.csv")
    (folder / "dir.csv").mkdir()
    os.mkfifo(folder / "fifo.csv")
    problems = {p.name: entry_problem(p) for p in folder.iterdir()}
    assert problems == {
        "ok.csv": "hard_link",  # it now has a second name
        "twice.csv": "hard_link",
        "inside.csv": "symlink",
        "outside.csv": "symlink_outside_folder",
        "loop.csv": "symlink_outside_folder",
        "dir.csv": "not_a_regular_file",
        "fifo.csv": "not_a_regular_file",
    }


def test_a_name_is_shown_escaped_never_raw():
    assert display_name("B001\n.csv") == "B001\\u000a.csv"
    assert display_name(SURROGATE) == "B0\\xff1.csv"
    assert display_name("支部.csv") == "支部.csv"
    assert len(display_name("x" * 500)) == 120
