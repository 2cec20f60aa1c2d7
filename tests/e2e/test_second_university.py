"""A second university, configured from scratch, end to end through Airflow.

青岚医科大学研究生院 (tests/universities/qinglan) shares nothing with the demo: its own
departments, column names, value codes and encodings, shapes the generator never makes
(title rows, merged branch cells, hidden rows, number cells, month-precision dates, a
month typed as a number, Excel serial dates in a GB18030 CSV, "—" for no value), and its
own rules and reason codes. It is installed with ``islandbridge init`` (keys, the
department's signing pair, the first steward), given its configuration, checked with
``islandbridge check`` and run with ``dag.test()``; the outcome is compared with the truth
its exports were written from: per injected error kind recall ≥ 0.95, false flags ≤ 1 %
of clean records, and no value read differently from the truth.
"""

from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from islandbridge.cli import app
from islandbridge.run_layout import DataLayout
from tests.universities.qinglan.exports import ROSTER_FILE, Truth, write_university

pytestmark = [pytest.mark.airflow, pytest.mark.xdist_group("qinglan")]

FIXTURE = Path(__file__).resolve().parents[1] / "universities" / "qinglan"
SOURCES = ("roster", "meetings", "signins")


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def qinglan(tmp_path_factory) -> dict:
    from islandbridge.demo import run_pipeline

    root = tmp_path_factory.mktemp("qinglan") / "install"
    _cli("init", str(root), "--university", "青岚医科大学研究生院",
         "--department", "grad_party_office=roster", "--steward", "qinglan_steward")  # fmt: skip
    for name in ("islandbridge.yaml", "quality.yaml", "privacy.yaml"):
        shutil.copy(FIXTURE / name, root / name)
    data, config = root / "data", root / "islandbridge.yaml"
    truth = write_university(data / "sources")
    key = data / "secrets" / "department_keys" / "grad_party_office.key"
    _cli("sign", str(data / "sources" / ROSTER_FILE), "--key", str(key), "--source", "roster",
         "--config", str(config))  # fmt: skip
    checked = _cli("check", "--config", str(config), "--data-dir", str(data))
    summary = run_pipeline(data, config, run_id="qinglan_first")
    run = DataLayout(data).run(summary["run_id"])
    return {"data": data, "config": config, "truth": truth, "summary": summary, "check": checked,
            "run": run}  # fmt: skip


def _quarantine(qinglan: dict) -> pd.DataFrame:
    run = qinglan["run"]
    parts = []
    for source in SOURCES:
        for path in run.quarantine_files(source):
            if path.is_file():
                frame = pd.read_parquet(path)
                keep = [c for c in ("record_key", "reasons", "duplicate_of") if c in frame]
                parts.append(frame[keep].assign(source=source))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def verdicts(qinglan) -> dict[str, set[str]]:
    """record_key → every reason it was quarantined with."""
    out: dict[str, set[str]] = defaultdict(set)
    for key, reasons in _quarantine(qinglan)[["record_key", "reasons"]].itertuples(index=False):
        out[str(key)] |= set(str(reasons).split(";"))
    return out


def test_the_installation_checks_clean_and_the_run_publishes(qinglan):
    assert "check ok" in qinglan["check"] and "3 sources reached" in qinglan["check"]
    summary = qinglan["summary"]
    assert summary["dag_run_ok"] and not summary["degraded"], summary["published"]
    assert summary["balanced"] and summary["published"]["status"] == "published"
    assert summary["university"].startswith("青岚医科大学研究生院")
    ins = {r["source"]: r["in"] for r in summary["sources"]}
    truth: Truth = qinglan["truth"]
    assert ins == dict(Counter(r.source for r in truth.records))


def _detected(record, verdicts, quarantine) -> bool:
    if record.kind == "exact_duplicate":  # either copy of the pair may be the one dropped
        pairs = quarantine[quarantine["reasons"] == "exact_duplicate"]
        return record.record_key in set(pairs["record_key"]) or record.record_key in set(
            pairs["duplicate_of"].dropna()
        )
    return bool(verdicts.get(record.record_key, set()) & record.expect)


def test_every_injected_error_kind_is_found(qinglan, verdicts):
    quarantine = _quarantine(qinglan)
    injected: dict[str, list] = defaultdict(list)
    for record in qinglan["truth"].records:
        if record.kind != "clean":
            injected[f"{record.source}.{record.kind}"].append(record)
    assert len(injected) == 13, sorted(injected)
    recall = {
        kind: sum(_detected(r, verdicts, quarantine) for r in records) / len(records)
        for kind, records in injected.items()
    }
    missed = {kind: value for kind, value in recall.items() if value < 0.95}
    assert not missed, recall


def test_clean_records_are_rarely_flagged(qinglan, verdicts):
    quarantine = _quarantine(qinglan)
    partners = set(quarantine.loc[quarantine["reasons"] == "exact_duplicate", "record_key"])
    clean = [r for r in qinglan["truth"].records if r.kind == "clean"]
    flagged = [
        (r.record_key, sorted(verdicts[r.record_key]))
        for r in clean
        if r.record_key in verdicts and r.record_key not in partners
    ]
    assert len(flagged) <= 0.01 * len(clean), flagged[:10]


def _accepted(qinglan: dict, source: str) -> pd.DataFrame:
    return pd.read_parquet(qinglan["run"].accepted(source))


def _day(value) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()


def test_no_value_is_read_differently_from_the_truth(qinglan):
    """Every accepted value equals the truth: identifiers, codes, and each date with its
    precision (a month stays a month, a serial number is its day)."""
    truth = qinglan["truth"]
    wrong = []
    roster = _accepted(qinglan, "roster").set_index("record_key")
    for key, record in truth.by_source("roster").items():
        if key not in roster.index:
            continue
        row, v = roster.loc[key], record.values
        expected = {
            "id_number": v["id_number"],
            "person_no": v["person_no"],
            "mobile": v["mobile"],
            "branch_id": v["branch_id"],
            "name": v["name"],
        }
        for field, value in expected.items():
            got = None if pd.isna(row[field]) else str(row[field])
            if got != value:
                wrong.append((key, field))
        for field in ("birth_date", "applicant_on", "probationary_on", "full_on"):
            day, precision = v[field] if v[field] else (None, None)
            got_precision = row.get(f"{field}_precision")
            got_precision = "day" if pd.isna(got_precision) and day else got_precision
            if _day(row[field]) != (day.isoformat() if day else None) or (
                day and got_precision != precision
            ):
                wrong.append((key, field))
    signins = _accepted(qinglan, "signins").set_index("record_key")
    for key, record in truth.by_source("signins").items():
        if key not in signins.index or "meeting_date" not in record.values:
            continue
        row, v = signins.loc[key], record.values
        if _day(row["meeting_date"]) != v["meeting_date"].isoformat():
            wrong.append((key, "meeting_date"))
        for field in ("meeting_type", "attendance", "person_no", "branch_id"):
            if str(row[field]) != v[field]:
                wrong.append((key, field))
    meetings = _accepted(qinglan, "meetings").set_index("record_key")
    for key, record in truth.by_source("meetings").items():
        row = meetings.loc[key]
        if _day(row["meeting_date"]) != record.values["meeting_date"].isoformat():
            wrong.append((key, "meeting_date"))
    assert len(roster) > 250 and len(signins) > 2500 and len(meetings) == 50
    assert not wrong, wrong[:20]


def _person_keys(qinglan, ids: list[str]) -> list[str]:
    from anonymize import pseudonymise_frame
    from integrate.person_index import person_key_for
    from islandbridge.context import RunContext
    from islandbridge.secrets import load_run_keyring
    from islandbridge.settings import privacy_policy

    ctx = RunContext(qinglan["data"], qinglan["config"], "evaluation", pd.Timestamp.now().date())
    tokens, _ = pseudonymise_frame(
        pd.DataFrame({"id_number": pd.array(ids, dtype="string")}),
        entity="member",
        policy=privacy_policy(ctx),
        keyring=load_run_keyring(ctx),
    )
    return [person_key_for(t) for t in tokens["id_number_token"]]


def test_every_published_attendance_is_a_true_one(qinglan, verdicts):
    """The published facts are exactly the clean sign-ins of the published persons (one of
    each duplicated pair), with the true date, meeting type and attendance."""
    current = qinglan["data"] / "published" / "current"
    persons = set(pd.read_parquet(current / "dim_person.parquet")["person_key"])
    facts = pd.read_parquet(current / "fact_attendance.parquet")
    clean = [
        r
        for r in qinglan["truth"].records
        if r.source == "signins" and r.kind in ("clean", "exact_duplicate")
    ]
    keys = _person_keys(qinglan, [r.values["id_number"] for r in clean])
    expected = Counter(
        (key, r.values["branch_id"], r.values["meeting_type"],
         r.values["meeting_date"].isoformat(), r.values["attendance"])
        for key, r in zip(keys, clean, strict=True)
        if key in persons and r.record_key not in verdicts
    )  # fmt: skip
    published = Counter(
        (row.person_key, row.branch_id, row.meeting_type, _day(row.meeting_date), row.attendance)
        for row in facts.itertuples()
    )
    assert published == expected
    assert len(published) > 1500


def test_the_published_meetings_are_the_ledgers(qinglan):
    facts = pd.read_parquet(qinglan["data"] / "published" / "current" / "fact_meeting.parquet")
    published = Counter(
        (r.branch_id, r.meeting_type, _day(r.meeting_date)) for r in facts.itertuples()
    )
    truth = Counter(
        (r.values["branch_id"], r.values["meeting_type"], r.values["meeting_date"].isoformat())
        for r in qinglan["truth"].records
        if r.source == "meetings"
    )
    assert published == truth


def _feedback(qinglan, department: str) -> pd.DataFrame:
    folder = qinglan["data"] / "feedback" / department
    encoding = "gb18030" if department == "branch_secretaries" else "utf-8-sig"
    files = sorted(folder.rglob("*_rejected.csv"))
    assert files, f"no feedback for {department}"
    return pd.concat([pd.read_csv(p, encoding=encoding, dtype=str) for p in files])


def test_feedback_speaks_the_departments_language(qinglan):
    signins = _feedback(qinglan, "branch_secretaries")
    zh = "\n".join(signins["问题说明"].dropna())
    assert "「会议日期」列的值形似日期但该日不存在" in zh
    assert "「签到情况」列的值不是已知的代码值" in zh
    assert "该人员的花名册记录未通过校验" in zh  # not "absent from every roster"
    assert "meeting_date" not in zh and "attendance" not in zh
    roster = _feedback(qinglan, "grad_party_office")
    zh = "\n".join(roster["问题说明"].dropna())
    assert "成为预备党员时未满18周岁" in zh  # the university's own reason text
    assert "「出生年月」列的值以数值形式存储的年月" in zh
    en = "\n".join(roster["Problem"].dropna())
    assert "became a probationary member before turning 18" in en
