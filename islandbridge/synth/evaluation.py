"""Accuracy of a finished run against the synthetic university's ground truth.

A steward-side tool (it reads ``truth/`` and the run's restricted zones, and uses
the run's keyring): the pipeline itself never reads truth. Every result is a count
or a ratio, never a value of a record.

**Record keys.** Truth and pipeline name records alike (``members:42``,
``signins/01U0001.csv:17``, ``volunteer:V0000001`` …), with one exception: the
``org_members`` source is a SQL query of ``members`` joined with
``status_history``, so a ladder injection on ``status_history:<id>`` belongs to
the pipeline row ``members:<member_id>`` of that history row (read from
``org_dept.sqlite``). A pipeline row gets the union of the labels of the truth
records mapped to it. Truth records that no pipeline source reads (``branches:*``)
are left out.

**Quality** (:func:`evaluate_quality`), per injected error class C with its
detecting reason codes :data:`DETECTING_REASONS`:

* *injected*: pipeline rows labelled C;
* *detected*: injected rows quarantined with a detecting reason of C, or lying in a
  whole input file that was rejected (a tampered export is quarantined for all its
  rows). Duplicates are pairs and either copy may come first: a labelled copy also
  counts as detected when the pipeline kept it and quarantined its original as a
  duplicate of it (``duplicate_of``, same true person). A labelled row quarantined as
  a duplicate of a row detected for C shares that row's fate (two injected copies that
  came out identical);
* *flagged*: rows quarantined with a detecting reason of C. A flagged row is a true
  flag of C when labelled C (or, for duplicates, when it is the original of a
  labelled copy it was merged into); it is *explained* — neither true nor false for
  C — when another injected class sharing that reason code explains it (a near
  duplicate that normalisation made exact), when it is an injected row merged as a
  duplicate into an identical injected twin, or, for ``unknown_person``, when the
  record is of a real person whose every roster row was itself quarantined; any
  other flagged row is a false flag;
* precision = true / (true + false), recall = detected / injected.

``tampered_export`` is scored per file: injected files vs files rejected with
``signature_invalid``. Classes in :data:`UNDETECTABLE` are reported without scores.

**Linkage** (:func:`evaluate_linkage`), per activity source, over the records that
passed the quality gate and reached a linkage decision (linked, or quarantined as
``unknown_person`` / ``ambiguous_match``; sign-ins quarantined as
``no_meeting_signin`` are not linkage decisions). A record's expected person key is
:func:`integrate.person_index.person_key_for` of the ``hmac_token`` (domain
``id_number``, the run's keyring) of its true person's ID number, if that token is in
the run's person index (the person is on an accepted roster row); else the record
should stay unlinked. precision = correct links / links made;
recall = correct links / records with an expected person key.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from islandbridge.run_layout import RunLayout

if TYPE_CHECKING:
    from anonymize import Keyring

__all__ = [
    "DETECTING_REASONS",
    "UNDETECTABLE",
    "ClassScore",
    "Evaluation",
    "LinkScore",
    "evaluate_linkage",
    "evaluate_quality",
    "evaluate_run",
    "linkage_table",
    "quality_table",
]

log = logging.getLogger(__name__)

DUPLICATE_REASONS = frozenset({"exact_duplicate", "near_duplicate"})
DUPLICATE_CLASSES = frozenset({"exact_duplicate", "near_duplicate"})
#: Injected error class → the quarantine reason codes that detect it.
DETECTING_REASONS: dict[str, frozenset[str]] = {
    "bad_check_digit": frozenset({"id_check_digit"}),
    "id_birth_mismatch": frozenset({"id_birth_mismatch"}),
    "id_gender_mismatch": frozenset({"id_gender_mismatch"}),
    "applicant_under_18": frozenset({"applicant_under_18"}),
    "status_order": frozenset({"status_order"}),
    "future_date": frozenset({"future_date"}),
    # normalisation can turn a near duplicate into an exact one, and either code is right
    "exact_duplicate": DUPLICATE_REASONS,
    "near_duplicate": DUPLICATE_REASONS,
    "nonexistent_person": frozenset({"unknown_person"}),
    "impossible_hours": frozenset({"impossible_hours"}),
    "no_meeting_signin": frozenset({"no_meeting_signin"}),
    "tampered_export": frozenset({"signature_invalid"}),
}
#: Injected classes no rule can detect, and why.
UNDETECTABLE: dict[str, str] = {
    "name_typo": (
        "the record is true: only the spelling of the name differs (a homophone), and a "
        "name is never a key; linkage must cope with it (keyed Bloom encodings with pinyin)"
    ),
}
ACTIVITY_ENTITIES = ("attendance", "study", "volunteer", "dues")
LINK_REASONS = frozenset({"unknown_person", "person_rejected_in_roster", "ambiguous_match"})
_FILE_CLASS = "tampered_export"
_HISTORY_PREFIX = "status_history:"


@dataclass(frozen=True)
class ClassScore:
    """Quarantine vs truth for one injected error class (counts only)."""

    error_class: str
    injected: int
    detected: int
    flagged: int
    true_flags: int
    false_flags: int
    explained: int
    in_rejected_files: int
    precision: float | None
    recall: float | None
    detecting: str

    @property
    def detectable(self) -> bool:
        return self.error_class not in UNDETECTABLE


@dataclass(frozen=True)
class LinkScore:
    """Linkage vs truth for one activity source (counts only)."""

    source: str
    records: int
    should_link: int
    linked: int
    correct: int
    wrong: int
    missed: int
    nonexistent: int
    nonexistent_linked: int
    precision: float | None
    recall: float | None


@dataclass(frozen=True)
class Evaluation:
    classes: list[ClassScore]
    linkage: list[LinkScore]
    #: quarantine reason → rows quarantined with it that carry no injected label at all
    unexplained: dict[str, int]
    #: truth records that map to no row any source of the run read
    unmapped_truth: int

    def score(self, error_class: str) -> ClassScore:
        return next(c for c in self.classes if c.error_class == error_class)

    def link(self, source: str) -> LinkScore:
        return next(s for s in self.linkage if s.source == source)

    def as_dict(self) -> dict:
        return {
            "classes": [asdict(c) for c in self.classes],
            "linkage": [asdict(s) for s in self.linkage],
            "unexplained": self.unexplained,
            "unmapped_truth": self.unmapped_truth,
        }


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class _Run:
    """What the evaluation reads of one finished run."""

    #: record_key → pipeline source, for every row a source read (landed or in a rejected file)
    keys: pd.DataFrame
    #: record_key, reasons (';'-joined, quality and link quarantine), duplicate_of
    quarantine: pd.DataFrame
    #: (source, location) of input files rejected whole, with the reason
    rejected_files: pd.DataFrame
    entities: dict[str, str]


def _read_run(run: RunLayout, entities: Mapping[str, str]) -> _Run:
    import json

    key_parts, quarantine_parts, rejected = [], [], []
    for source in entities:
        prov = json.loads(run.provenance(source).read_text(encoding="utf-8"))
        for item in prov["inputs"]:
            if item.get("rejected_reason"):
                rejected.append((source, item["location"], item["rejected_reason"]))
        landed = pd.read_parquet(run.landing(source), columns=["record_key"])
        key_parts.append(landed.assign(source=source))
        for path in run.quarantine_files(source):
            if not path.is_file():
                continue
            present = set(pq.read_schema(path).names)
            wanted = [c for c in ("record_key", "reasons", "duplicate_of") if c in present]
            frame = pd.read_parquet(path, columns=wanted)
            quarantine_parts.append(frame.assign(source=source))
    keys = pd.concat(key_parts, ignore_index=True)
    keys["record_key"] = keys["record_key"].astype(str)
    quarantine = pd.concat(quarantine_parts, ignore_index=True) if quarantine_parts else None
    if quarantine is None or quarantine.empty:
        quarantine = pd.DataFrame(
            {"record_key": [], "reasons": [], "duplicate_of": [], "source": []}, dtype=object
        )
    if "duplicate_of" not in quarantine.columns:
        quarantine["duplicate_of"] = pd.NA
    quarantine = quarantine.astype({"record_key": str, "reasons": "string"})
    rejected_files = pd.DataFrame(rejected, columns=["source", "location", "reason"])
    return _Run(keys, quarantine, rejected_files, dict(entities))


_NONE: frozenset[str] = frozenset()


def _sets_by_key(keys: pd.Series, joined: pd.Series) -> dict[str, frozenset[str]]:
    """record_key → the union of the ``;``-joined codes of its rows."""
    out: dict[str, frozenset[str]] = {}
    for key, value in zip(keys.astype(str), joined.astype("string").fillna(""), strict=True):
        codes = frozenset(c for c in value.split(";") if c)
        out[key] = out[key] | codes if key in out else codes
    return out


def _history_members(university: Path) -> pd.Series:
    """``status_history:<id>`` → ``members:<member_id>`` (empty without the SQLite file)."""
    path = university / "sources" / "org_dept.sqlite"
    if not path.is_file():
        return pd.Series(dtype=object)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT id, member_id FROM status_history").fetchall()
    return pd.Series(
        [f"members:{m}" for _, m in rows], index=[f"{_HISTORY_PREFIX}{i}" for i, _ in rows]
    )


def _labelled_rows(university: Path, run: _Run) -> tuple[pd.DataFrame, int]:
    """Pipeline rows with their truth: record_key, source, person_id, labels (set), rejected."""
    truth = pd.read_parquet(
        university / "truth" / "records.parquet", columns=["record_key", "person_id", "labels"]
    )
    keys = truth["record_key"].astype(str)
    history = keys.str.startswith(_HISTORY_PREFIX).to_numpy()
    if history.any():
        mapped = keys[history].map(_history_members(university))
        keys = keys.copy()
        keys[history] = mapped.to_numpy()
    truth = truth.assign(record_key=keys.to_numpy())
    # rows of rejected files: the landing holds none of them, provenance names the file
    rejected_rows = pd.DataFrame(columns=["record_key", "source"])
    if len(run.rejected_files):
        parts = []
        file_of = truth["record_key"].str.rsplit(":", n=1).str[0]
        for source, location in run.rejected_files[["source", "location"]].itertuples(index=False):
            hit = truth.loc[(file_of == location).to_numpy(), "record_key"]
            parts.append(pd.DataFrame({"record_key": hit.to_numpy(), "source": source}))
        rejected_rows = pd.concat(parts, ignore_index=True)
    universe = pd.concat(
        [run.keys.assign(rejected=False), rejected_rows.assign(rejected=True)], ignore_index=True
    ).drop_duplicates("record_key")
    labelled = truth[truth["labels"].notna() & (truth["labels"] != "")]
    label_sets = _sets_by_key(labelled["record_key"], labelled["labels"])
    # the person a pipeline row is about: the truth record with the row's own key
    person = truth.loc[~history, ["record_key", "person_id"]].drop_duplicates("record_key")
    rows = universe.merge(person, on="record_key", how="left")
    rows["labels"] = [label_sets.get(k, _NONE) for k in rows["record_key"]]
    in_run = truth["record_key"].isin(universe["record_key"])
    not_read = ~in_run & ~truth["record_key"].str.startswith(("branches:", _HISTORY_PREFIX))
    return rows.reset_index(drop=True), int(not_read.sum())


# --------------------------------------------------------------------------- quality


def evaluate_quality(
    university: Path,
    layout: RunLayout,
    entities: Mapping[str, str],
    *,
    unknown_ok: set[str] | None = None,
) -> tuple[list[ClassScore], dict[str, int], int]:
    """Per-class scores, unexplained quarantine reasons, unmapped truth records.

    ``entities``: pipeline source → canonical entity of the run. ``unknown_ok``:
    record keys of real persons on no accepted roster (their ``unknown_person`` is right
    but proves nothing about ``nonexistent_person``); see the module docstring.
    """
    run = _read_run(layout, entities)
    rows, unmapped = _labelled_rows(university, run)
    q = run.quarantine
    reasons = _sets_by_key(q["record_key"], q["reasons"])
    rows["reasons"] = [reasons.get(k, _NONE) for k in rows["record_key"]]
    label_of = dict(zip(rows["record_key"], rows["labels"], strict=True))
    position = {key: i for i, key in enumerate(rows["record_key"])}
    person_of = dict(zip(rows["record_key"], rows["person_id"], strict=True))

    # duplicates: an unlabelled row merged into a labelled copy of the same person credits it
    dup = q[q["reasons"].isin(list(DUPLICATE_REASONS)) & q["duplicate_of"].notna()]
    merged_into = dict(zip(dup["record_key"], dup["duplicate_of"].astype(str), strict=True))
    credited: dict[str, str] = {}  # quarantined original → its kept, labelled copy
    for key, target in zip(dup["record_key"], dup["duplicate_of"].astype(str), strict=True):
        if (
            not label_of.get(key, frozenset()) & DUPLICATE_CLASSES
            and label_of.get(target, frozenset()) & DUPLICATE_CLASSES
            and person_of.get(key) == person_of.get(target)
        ):
            credited[key] = target
    copies_detected = set(credited.values())
    unknown_ok = unknown_ok or set()

    scores: list[ClassScore] = []
    record_keys = rows["record_key"].to_numpy(dtype=object)
    labels = rows["labels"].to_numpy(dtype=object)
    row_reasons = rows["reasons"].to_numpy(dtype=object)
    rejected = rows["rejected"].to_numpy(dtype=bool)
    for error_class, detecting in DETECTING_REASONS.items():
        if error_class == _FILE_CLASS:
            scores.append(_file_score(university, run))
            continue
        injected = np.array([error_class in s for s in labels], dtype=bool)
        hit = np.array([bool(r & detecting) for r in row_reasons], dtype=bool)
        detected = injected & (hit | rejected)
        # a labelled row merged as a duplicate into a row detected for the class shares its
        # fate (two injected copies that came out identical)
        for key, target in zip(dup["record_key"], dup["duplicate_of"].astype(str), strict=True):
            if error_class in label_of.get(key, _NONE) and detecting & reasons.get(target, _NONE):
                detected[position[key]] = True
        if error_class in DUPLICATE_CLASSES:
            # pandas' hash lookup: np.isin compares object arrays pairwise (quadratic)
            detected |= injected & rows["record_key"].isin(copies_detected).to_numpy()
        true = hit & injected
        explained = np.zeros(len(rows), dtype=bool)
        false = np.zeros(len(rows), dtype=bool)
        for i in np.flatnonzero(hit & ~injected):
            key = record_keys[i]
            if error_class in DUPLICATE_CLASSES and key in credited:
                # the original of a labelled copy, merged into it: the pair was found
                true[i] = error_class in label_of[credited[key]]
                explained[i] = not true[i]
                continue
            # another injected error of this row shares the reason code; or the row is an
            # identical twin of another injected row (merged into it); or the record is of a
            # real person whose every roster row was quarantined
            other = any(
                detecting & DETECTING_REASONS.get(c, set()) & row_reasons[i] for c in labels[i]
            )
            twin = key in merged_into and bool(labels[i] & label_of.get(merged_into[key], _NONE))
            roster_gone = error_class == "nonexistent_person" and key in unknown_ok
            explained[i] = other or twin or roster_gone
            false[i] = not explained[i]
        n_true, n_false = int(true.sum()), int(false.sum())
        scores.append(
            ClassScore(
                error_class=error_class,
                injected=int(injected.sum()),
                detected=int(detected.sum()),
                flagged=int(hit.sum()),
                true_flags=n_true,
                false_flags=n_false,
                explained=int(explained.sum()),
                in_rejected_files=int((injected & rejected).sum()),
                precision=_ratio(n_true, n_true + n_false),
                recall=_ratio(int(detected.sum()), int(injected.sum())),
                detecting=",".join(sorted(detecting)),
            )
        )
    for error_class in UNDETECTABLE:
        injected = int(sum(error_class in s for s in labels))
        scores.append(ClassScore(error_class, injected, 0, 0, 0, 0, 0, 0, None, None, detecting=""))
    unexplained: dict[str, int] = {}
    for i in np.flatnonzero(np.array([bool(r) for r in row_reasons]) & ~rejected):
        if labels[i] or record_keys[i] in credited or record_keys[i] in unknown_ok:
            continue
        for reason in row_reasons[i]:
            unexplained[reason] = unexplained.get(reason, 0) + 1
    return scores, dict(sorted(unexplained.items())), unmapped


def _file_score(university: Path, run: _Run) -> ClassScore:
    inj = pd.read_parquet(university / "truth" / "injections.parquet")
    tampered = set(inj.loc[inj["error_class"] == _FILE_CLASS, "record_key"].astype(str))
    bad = run.rejected_files[run.rejected_files["reason"] == "signature_invalid"]
    rejected = set(bad["location"].astype(str))
    true = len(tampered & rejected)
    return ClassScore(
        error_class=_FILE_CLASS,
        injected=len(tampered),
        detected=true,
        flagged=len(rejected),
        true_flags=true,
        false_flags=len(rejected - tampered),
        explained=0,
        in_rejected_files=true,
        precision=_ratio(true, len(rejected)),
        recall=_ratio(true, len(tampered)),
        detecting="signature_invalid (files)",
    )


# --------------------------------------------------------------------------- linkage


def expected_person_keys(
    university: Path, run: RunLayout, keyring: Keyring
) -> tuple[pd.Series, set[int]]:
    """truth person_id → the person key the run should give them (if on an accepted roster).

    Returns the mapping for every true person and the person ids that are in the run's
    person index.
    """
    from anonymize import hmac_tokens
    from integrate.person_index import person_keys_for

    persons = pd.read_parquet(
        university / "truth" / "persons.parquet", columns=["person_id", "id_number"]
    )
    tokens = hmac_tokens(persons["id_number"].astype("string"), keyring, "id_number")
    keys = pd.Series(
        person_keys_for(tokens.astype(str)), index=persons["person_id"].to_numpy(dtype=np.int64)
    )
    indexed = set(pd.read_parquet(run.persons)["person_key"])
    on_roster = {int(p) for p, k in keys.items() if k in indexed}
    return keys, on_roster


def evaluate_linkage(
    university: Path, run: RunLayout, entities: Mapping[str, str], keyring: Keyring
) -> tuple[list[LinkScore], set[str]]:
    """Per activity source linkage scores; also the record keys of real persons on no roster.

    See the module docstring for the definitions.
    """
    truth = pd.read_parquet(
        university / "truth" / "records.parquet", columns=["record_key", "person_id"]
    )
    person_of = pd.Series(
        truth["person_id"].to_numpy(), index=truth["record_key"].astype(str).to_numpy()
    )
    keys, on_roster = expected_person_keys(university, run, keyring)
    scores: list[LinkScore] = []
    unknown_ok: set[str] = set()
    for source, entity in entities.items():
        if entity not in ACTIVITY_ENTITIES:
            continue
        linked = pd.read_parquet(run.linked(source), columns=["record_key", "person_key"])
        link_q = run.link_quarantine(source)
        rejected = pd.read_parquet(link_q, columns=["record_key", "reasons"])
        rejected = rejected[rejected["reasons"].astype(str).isin(list(LINK_REASONS))]
        frame = pd.concat(
            [
                linked.assign(made=True),
                rejected[["record_key"]].assign(person_key=pd.NA, made=False),
            ],
            ignore_index=True,
        )
        frame["record_key"] = frame["record_key"].astype(str)
        pid = frame["record_key"].map(person_of)
        real = pid.notna().to_numpy()
        pid_int = pid.fillna(-1).astype(np.int64).to_numpy()
        indexed = np.array([p in on_roster for p in pid_int], dtype=bool) & real
        expected = np.where(indexed, keys.reindex(pid_int).to_numpy(dtype=object), None)
        made = frame["made"].to_numpy(dtype=bool)
        got = frame["person_key"].astype(object).where(frame["person_key"].notna(), None)
        correct = made & indexed & (got.to_numpy(dtype=object) == expected)
        unknown_ok |= set(frame.loc[real & ~indexed & ~made, "record_key"])
        n_correct, n_made, n_should = int(correct.sum()), int(made.sum()), int(indexed.sum())
        scores.append(
            LinkScore(
                source=source,
                records=len(frame),
                should_link=n_should,
                linked=n_made,
                correct=n_correct,
                wrong=n_made - n_correct,
                missed=int((indexed & ~made).sum()),
                nonexistent=int((~real).sum()),
                nonexistent_linked=int((~real & made).sum()),
                precision=_ratio(n_correct, n_made),
                recall=_ratio(n_correct, n_should),
            )
        )
    return scores, unknown_ok


# --------------------------------------------------------------------------- the whole run


def evaluate_run(data_dir: Path, run_id: str, config: Path | None = None) -> Evaluation:
    """Evaluate run ``run_id`` of ``data_dir`` against ``data_dir/university/truth``."""
    from datetime import date

    from islandbridge.context import RunContext
    from islandbridge.run_layout import RunPlan, read_result
    from islandbridge.secrets import load_run_keyring

    ctx = RunContext(Path(data_dir).resolve(), config, run_id, date.today())  # noqa: DTZ011
    university = ctx.sources_dir.parent
    plan = read_result(RunPlan, ctx.layout.plan)
    entities = {name: ctx.config.source(name).entity for name in plan.sources}
    run = ctx.layout
    linkage, unknown_ok = evaluate_linkage(university, run, entities, load_run_keyring(ctx))
    classes, unexplained, unmapped = evaluate_quality(
        university, run, entities, unknown_ok=unknown_ok
    )
    log.info("evaluated run %s: %d classes, %d sources", run_id, len(classes), len(linkage))
    return Evaluation(classes, linkage, unexplained, unmapped)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def quality_table(evaluation: Evaluation) -> list[str]:
    """Markdown rows: one per error class."""
    head = (
        "| error class | detecting reasons | injected | detected | flagged | false flags "
        "| explained | in rejected files | precision | recall |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in evaluation.classes:
        lines.append(
            f"| {c.error_class} | {c.detecting or '(none: see below)'} | {c.injected:,} "
            f"| {c.detected:,} | {c.flagged:,} | {c.false_flags:,} | {c.explained:,} "
            f"| {c.in_rejected_files:,} | {_fmt(c.precision)} | {_fmt(c.recall)} |"
        )
    return lines


def linkage_table(evaluation: Evaluation) -> list[str]:
    """Markdown rows: one per activity source."""
    head = (
        "| source | records | should link | linked | correct | wrong | missed "
        "| nonexistent (linked) | precision | recall |"
    )
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in evaluation.linkage:
        lines.append(
            f"| {s.source} | {s.records:,} | {s.should_link:,} | {s.linked:,} | {s.correct:,} "
            f"| {s.wrong:,} | {s.missed:,} | {s.nonexistent:,} ({s.nonexistent_linked:,}) "
            f"| {_fmt(s.precision)} | {_fmt(s.recall)} |"
        )
    return lines
