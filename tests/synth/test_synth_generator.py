"""The synthetic university: contract shape, realism, labelled pollution, determinism."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import unicodedata
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from connectors.export_manifest import check_export, read_manifest
from connectors.signatures import load_public_key
from connectors.trust_store import MappingTrustStore, trust_entry
from domain.identifiers import gb11643_check_digit, is_cn_mobile, resident_id_problems
from domain.normalise import normalise_date
from islandbridge.synth import ERROR_CLASSES, PollutionRates, generate_university
from islandbridge.synth.vocab import TRADITIONAL

pytestmark = pytest.mark.xdist_group("synth")

AS_OF = date(2026, 6, 30)
MEMBERS = 400
SEED = 7
SOURCES = (
    "org_dept",
    "student_affairs",
    "hr_staff",
    "signins",
    "volunteer",
    "finance_dues",
    "learning",
)
SIMPLIFIED = {v: k for k, v in TRADITIONAL.items()}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def university(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "uni"
    summary = generate_university(out, members=MEMBERS, seed=SEED)
    assert summary.path == out
    return out


@pytest.fixture(scope="module")
def truth(university: Path) -> dict[str, pd.DataFrame]:
    return {
        name: pq.read_table(university / "truth" / f"{name}.parquet").to_pandas()
        for name in ("persons", "records", "injections")
    }


def _read_sources(root: Path) -> dict[str, pd.DataFrame]:
    """Every record of every source with its record key (column ``key``)."""
    src = root / "sources"
    out: dict[str, pd.DataFrame] = {}
    with sqlite3.connect(src / "org_dept.sqlite") as con:
        members = pd.read_sql("SELECT * FROM members", con)
        members["key"] = "members:" + members["member_id"].astype(str)
        history = pd.read_sql("SELECT * FROM status_history", con)
        history["key"] = "status_history:" + history["id"].astype(str)
        meetings = pd.read_sql("SELECT * FROM meetings", con)
        meetings["key"] = "meetings:" + meetings["meeting_id"].astype(str)
        branches = pd.read_sql("SELECT * FROM branches", con)
        branches["key"] = "branches:" + branches["branch_code"]
    out["members"], out["status_history"], out["meetings"] = members, history, meetings
    out["branches"] = branches
    with sqlite3.connect(src / "student_affairs.sqlite") as con:
        students = pd.read_sql("SELECT * FROM xs_jbxx", con)
    students["key"] = "xs_jbxx:" + students["id"].astype(str)
    out["student_affairs"] = students
    ws = openpyxl.load_workbook(src / "hr_staff.xlsx", read_only=True)["教职工名册"]
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[2])
    hr = pd.DataFrame([list(r) for r in rows[3:]], columns=header)
    hr["key"] = [f"hr_staff.xlsx:{i}" for i in range(4, 4 + len(hr))]
    out["hr_staff"] = hr
    signins = []
    for path in sorted((src / "signins").glob("*.csv")):
        lines = path.read_bytes().decode("gbk").split("\n")
        assert lines[-1] == ""
        for i, line in enumerate(lines[1:-1], start=2):
            signins.append([f"signins/{path.name}:{i}", line, *line.split(",")])
    out["signins"] = pd.DataFrame(
        signins,
        columns=[
            "key",
            "line",
            "支部名称",
            "会议类型",
            "会议日期",
            "姓名",
            "学号/工号",
            "签到情况",
        ],
    )
    out["signins"]["branch_code"] = out["signins"]["key"].str.extract(r"signins/(.*)\.csv")[0]
    volunteer = pd.DataFrame(json.loads((src / "volunteer_records.json").read_text("utf-8")))
    volunteer["key"] = "volunteer:" + volunteer["record_id"]
    out["volunteer"] = volunteer
    lines = (src / "finance_dues.csv").read_text(encoding="utf-8-sig").split("\n")
    dues = pd.DataFrame([line.split(",") for line in lines[1:-1]], columns=lines[0].split(","))
    dues["key"] = [f"finance_dues.csv:{i}" for i in range(2, 2 + len(dues))]
    dues["line"] = lines[1:-1]
    out["finance_dues"] = dues
    lines = (src / "learning_platform.jsonl").read_text("utf-8").split("\n")
    learning = pd.DataFrame([json.loads(line) for line in lines[:-1]])
    learning["key"] = [f"learning_platform.jsonl:{i}" for i in range(1, len(learning) + 1)]
    learning["line"] = lines[:-1]
    out["learning"] = learning
    return out


@pytest.fixture(scope="module")
def tables(university: Path) -> dict[str, pd.DataFrame]:
    return _read_sources(university)


def _labelled(truth: dict[str, pd.DataFrame], error_class: str) -> pd.DataFrame:
    inj = truth["injections"]
    return inj[inj["error_class"] == error_class]


def _rows(table: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    rows = table.set_index("key").loc[list(keys)]
    assert len(rows) == len(keys)
    return rows


def _add_year(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _id_birth(id_number: str) -> date:
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def _id_gender(id_number: str) -> str:
    return "男" if int(id_number[16]) % 2 else "女"


def _canon(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)).replace(" ", "")
    return "".join(SIMPLIFIED.get(c, c) for c in text)


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for sub in ("sources", "truth")
        for p in sorted((root / sub).rglob("*"))
        if p.is_file()
    } | {"manifest.json": hashlib.sha256((root / "manifest.json").read_bytes()).hexdigest()}


# --------------------------------------------------------------------------- identifiers


def test_clean_ids_pass_gb11643_and_embed_birth_date_and_gender(truth):
    persons = truth["persons"]
    assert persons["id_number"].is_unique
    for row in persons.itertuples():
        assert resident_id_problems(row.id_number, today=AS_OF) == []
        assert _id_birth(row.id_number) == row.birth_date
        assert ("M" if int(row.id_number[16]) % 2 else "F") == row.gender


def test_clean_roster_rows_carry_valid_consistent_ids(truth, tables):
    labels = truth["records"].set_index("record_key")["labels"]
    for name, id_col, gender_col in (
        ("members", "sfzh", "xb"),
        ("student_affairs", "sfzh", "xb"),
        ("hr_staff", "身份证号码", "性别"),
    ):
        table = tables[name]
        clean = table[table["key"].map(labels) == ""]
        assert len(clean) > 0.9 * len(table)
        for id_number, gender in zip(clean[id_col], clean[gender_col], strict=True):
            assert resident_id_problems(id_number, today=AS_OF) == []
            assert _id_gender(id_number) == gender


def test_mobiles_and_numbers_are_well_formed_and_unique(truth):
    persons = truth["persons"]
    assert persons["mobile"].map(is_cn_mobile).all()
    assert persons["mobile"].is_unique
    students = persons[persons["person_type"] == "student"]
    assert students["student_no"].str.fullmatch(r"20\d{2}\d{2}\d{5}").all()
    assert students["student_no"].is_unique
    staff = persons[persons["person_type"] != "student"]
    assert staff["staff_no"].str.fullmatch(r"[TS]\d{6}").all()
    assert staff["staff_no"].is_unique
    assert students["staff_no"].isna().all() and staff["student_no"].isna().all()


# --------------------------------------------------------------------------- realism


def test_population_mix_and_rosters(truth, tables):
    persons = truth["persons"]
    members = persons[persons["is_member"]]
    assert len(members) == MEMBERS
    share = (members["person_type"] == "student").mean()
    assert 0.7 <= share <= 0.8
    assert set(members["person_type"]) == {"student", "faculty", "staff", "retired"}
    # student affairs: every student member plus ~30% extra students
    student_members = members[members["person_type"] == "student"]
    student_persons = persons[persons["person_type"] == "student"]
    extra = (~student_persons["is_member"]).sum() / student_members.shape[0]
    assert 0.25 <= extra <= 0.35
    hr_persons = persons[persons["person_type"] != "student"]
    extra_hr = (~hr_persons["is_member"]).sum() / hr_persons["is_member"].sum()
    assert 0.2 <= extra_hr <= 0.35
    records = truth["records"]
    sa_people = set(records.loc[records["source"] == "student_affairs", "person_id"])
    assert set(student_persons["person_id"]) <= sa_people
    hr_people = set(records.loc[records["source"] == "hr_staff", "person_id"])
    assert set(hr_persons["person_id"]) <= hr_people
    assert (tables["branches"]["branch_name"].str.endswith("党支部")).all()
    assert tables["branches"]["college_name"].nunique() >= 15


def test_branch_sizes_stay_within_40(truth):
    sizes = truth["persons"].groupby("branch_code").size()
    assert sizes.max() <= 40


def test_clean_members_obey_the_ladder(truth, tables):
    records = truth["records"].set_index("record_key")["labels"]
    history = tables["status_history"].copy()
    history["labels"] = history["key"].map(records)
    members = tables["members"].set_index("member_id")
    member_labels = tables["members"].set_index("member_id")["key"].map(records)
    persons = truth["persons"].set_index("id_number")
    order = ["入党申请人", "入党积极分子", "发展对象", "预备党员", "正式党员"]
    checked = 0
    for member_id, steps in history.groupby("member_id"):
        if (steps["labels"] != "").any() or member_labels[member_id] != "":
            continue
        member = members.loc[member_id]
        birth = persons.loc[member["sfzh"], "birth_date"]
        assert list(steps["status"]) == order[: len(steps)]
        dates = [date.fromisoformat(d) for d in steps["step_date"]]
        assert dates == sorted(dates) and len(set(dates)) == len(dates)
        assert dates[0] >= _add_year(birth, 18), "applicant under 18"
        assert dates[-1] <= AS_OF
        if len(dates) == 5:
            assert dates[4] == _add_year(dates[3], 1)
        assert member["dqzt"] == order[len(steps) - 1]
        checked += 1
    assert checked > 0.9 * MEMBERS


# --------------------------------------------------------------------------- truth bookkeeping


def test_every_source_record_is_in_records_truth(truth, tables):
    records = truth["records"]
    assert records["record_key"].is_unique
    assert set(records["source"]) == set(SOURCES)
    expected = set()
    for name in tables:
        expected |= set(tables[name]["key"])
    assert set(records["record_key"]) == expected


def test_every_injection_is_labelled_and_every_label_injected(truth):
    inj, records = truth["injections"], truth["records"]
    assert set(inj["error_class"]) == set(ERROR_CLASSES)
    labels = records.set_index("record_key")["labels"]
    line_level = inj[inj["error_class"] != "tampered_export"]
    for key, error_class in zip(line_level["record_key"], line_level["error_class"], strict=True):
        assert error_class in labels[key].split(";")
    injected = Counter(line_level["error_class"])
    labelled = Counter(c for ls in records["labels"] for c in ls.split(";") if c)
    assert labelled - Counter({"tampered_export": 1}) == injected


def test_nonexistent_people_have_no_person_and_are_on_no_roster(truth, tables):
    records = truth["records"].set_index("record_key")
    keys = _labelled(truth, "nonexistent_person")
    assert set(keys["source"]) == {"signins", "volunteer", "finance_dues", "learning"}
    assert records.loc[keys["record_key"], "person_id"].isna().all()
    assert records["person_id"].isna().sum() >= len(keys)
    numbers = (
        set(tables["members"]["xh"].dropna())
        | set(tables["members"]["gh"].dropna())
        | set(tables["student_affairs"]["xh"])
        | set(tables["hr_staff"]["工号"])
    )
    mobiles = (
        set(tables["members"]["sjhm"])
        | set(tables["student_affairs"]["lxdh"])
        | set(tables["hr_staff"]["手机号码"])
    )
    persons = truth["persons"]
    numbers |= set(persons["student_no"].dropna()) | set(persons["staff_no"].dropna())
    mobiles |= set(persons["mobile"])
    for source, column in (
        ("signins", "学号/工号"),
        ("volunteer", "xh"),
        ("finance_dues", "人员编号"),
        ("learning", "mobile"),
    ):
        rows = _rows(tables[source], keys.loc[keys["source"] == source, "record_key"])
        assert len(rows)
        known = mobiles if column == "mobile" else numbers
        assert not set(rows[column]) & known


# --------------------------------------------------------------- each error class is real


def test_bad_check_digit_really_fails_the_check(truth, tables):
    labelled = _labelled(truth, "bad_check_digit")
    assert set(labelled["source"]) == {"org_dept", "student_affairs", "hr_staff"}
    for source, table, col in (
        ("org_dept", "members", "sfzh"),
        ("student_affairs", "student_affairs", "sfzh"),
        ("hr_staff", "hr_staff", "身份证号码"),
    ):
        rows = _rows(tables[table], labelled.loc[labelled["source"] == source, "record_key"])
        for value in rows[col]:
            assert "id_check_digit" in resident_id_problems(value, today=AS_OF)
            assert gb11643_check_digit(value[:17]) != value[17]


def test_id_birth_and_gender_mismatches_really_disagree(truth, tables):
    for error_class, cols in (
        (
            "id_birth_mismatch",
            {"members": ("sfzh", "csrq"), "hr_staff": ("身份证号码", "出生日期")},
        ),
        (
            "id_gender_mismatch",
            {
                "members": ("sfzh", "xb"),
                "student_affairs": ("sfzh", "xb"),
                "hr_staff": ("身份证号码", "性别"),
            },
        ),
    ):
        labelled = _labelled(truth, error_class)
        found = 0
        for table, (id_col, col) in cols.items():
            rows = _rows(
                tables[table],
                labelled["record_key"][labelled["record_key"].isin(tables[table]["key"])],
            )
            found += len(rows)
            for id_number, value in zip(rows[id_col], rows[col], strict=True):
                assert resident_id_problems(id_number, today=AS_OF) == []
                if error_class == "id_gender_mismatch":
                    assert _id_gender(id_number) != value
                else:
                    assert _id_birth(id_number) != normalise_date(value)
        assert found == len(labelled) > 0


def test_under_18_applications_and_out_of_order_steps_are_real(truth, tables):
    history = tables["status_history"].set_index("key")
    members = tables["members"].set_index("member_id")
    young = _labelled(truth, "applicant_under_18")
    assert len(young)
    for key in young["record_key"]:
        row = history.loc[key]
        assert row["status"] == "入党申请人"
        birth = _id_birth(members.loc[row["member_id"], "sfzh"])
        assert date.fromisoformat(row["step_date"]) < _add_year(birth, 18)
    unordered = _labelled(truth, "status_order")
    assert len(unordered)
    all_history = tables["status_history"]
    for key in unordered["record_key"]:
        row = history.loc[key]
        steps = all_history[all_history["member_id"] == row["member_id"]].reset_index()
        pos = int(steps.index[steps["key"] == key][0])
        assert pos >= 1
        assert steps.loc[pos, "step_date"] < steps.loc[pos - 1, "step_date"]


def test_future_dates_are_after_as_of(truth, tables):
    labelled = _labelled(truth, "future_date")
    assert set(labelled["source"]) == {"signins", "volunteer", "finance_dues", "learning"}
    columns = {
        "signins": "会议日期",
        "volunteer": "fwrq",
        "finance_dues": "缴费日期",
        "learning": "finished_at",
    }
    for source, col in columns.items():
        rows = _rows(tables[source], labelled.loc[labelled["source"] == source, "record_key"])
        assert len(rows)
        for value in rows[col]:
            assert normalise_date(value) > AS_OF
    # and no clean activity is dated after as_of
    labels = truth["records"].set_index("record_key")["labels"]
    for source, col in columns.items():
        clean = tables[source][tables[source]["key"].map(labels) == ""]
        assert clean[col].drop_duplicates().map(normalise_date).max() <= AS_OF


def test_impossible_hours_exceed_24(truth, tables):
    labelled = _labelled(truth, "impossible_hours")
    rows = _rows(tables["volunteer"], labelled["record_key"])
    assert len(rows) and (rows["fwsc"] > 24).all()
    labels = truth["records"].set_index("record_key")["labels"]
    clean = tables["volunteer"][tables["volunteer"]["key"].map(labels) == ""]
    assert clean["fwsc"].between(0.5, 8).all()


def test_no_meeting_signins_fall_on_days_without_a_meeting(truth, tables):
    meetings = tables["meetings"]
    held = set(zip(meetings["branch_code"], meetings["meeting_date"], strict=True))
    signins = tables["signins"]
    written = signins["会议日期"].drop_duplicates()  # each distinct date read once
    dates = signins["会议日期"].map(
        dict(zip(written, written.map(lambda v: normalise_date(v).isoformat()), strict=True))
    )
    on_meeting_day = pd.Series(
        [(b, d) in held for b, d in zip(signins["branch_code"], dates, strict=True)],
        index=signins["key"],
    )
    labelled = _labelled(truth, "no_meeting_signin")
    assert len(labelled)
    assert not on_meeting_day[labelled["record_key"]].any()
    labels = truth["records"].set_index("record_key")["labels"]
    clean = on_meeting_day[signins["key"].map(labels).to_numpy() == ""]
    assert clean.all()


def test_duplicates_really_duplicate(truth, tables):
    labelled = _labelled(truth, "exact_duplicate")
    assert set(labelled["source"]) == set(SOURCES)
    ignore = {"key", "member_id", "id", "record_id"}
    for name, table in tables.items():
        keys = labelled["record_key"][labelled["record_key"].isin(table["key"])]
        if not len(keys):
            continue
        content = table.drop(columns=[c for c in table.columns if c in ignore]).map(str)
        signature = content.apply(lambda r: "\x1f".join(r), axis=1)
        counts = signature.value_counts()
        dup_sig = signature[table["key"].isin(keys).to_numpy()]
        assert (dup_sig.map(counts) >= 2).all(), name
    near = _labelled(truth, "near_duplicate")
    assert set(near["source"]) == set(SOURCES)
    for name, table in tables.items():
        keys = near["record_key"][near["record_key"].isin(table["key"])]
        if not len(keys):
            continue
        content = table.drop(columns=[c for c in table.columns if c in ignore | {"line"}])
        raw = content.map(str).apply(lambda r: "\x1f".join(r), axis=1)
        canon = content.map(str).map(_canon).apply(lambda r: "\x1f".join(r), axis=1)
        counts = canon.value_counts()
        mask = table["key"].isin(keys).to_numpy()
        assert (canon[mask].map(counts) >= 2).all(), name  # the same after normalising
        assert not raw[mask].isin(set(raw[~mask])).any(), name  # but not byte-identical


def test_name_typos_change_one_character(truth, tables):
    labelled = _labelled(truth, "name_typo")
    assert set(labelled["source"]) == {"signins", "volunteer"}
    records = truth["records"].set_index("record_key")
    persons = truth["persons"].set_index("person_id")
    for source, col in (("signins", "姓名"), ("volunteer", "xm")):
        keys = labelled.loc[labelled["source"] == source, "record_key"]
        rows = _rows(tables[source], keys)
        for key, name in zip(keys, rows[col], strict=True):
            true_name = persons.loc[records.loc[key, "person_id"], "name"]
            assert len(name) == len(true_name)
            assert sum(a != b for a, b in zip(name, true_name, strict=True)) == 1


def _signers(university: Path) -> tuple[MappingTrustStore, dict[str, tuple[str, str]]]:
    """The trust store the demo builds from signers.json, and key name → (department, source)."""
    keys = university / "department_keys"
    signers = json.loads((keys / "signers.json").read_text("utf-8"))
    trust = MappingTrustStore(
        trust_entry(s["name"], load_public_key(keys / s["public_key"]),
                    department=s["department"], sources=s["sources"], branch=s["branch"])
        for s in signers
    )  # fmt: skip
    return trust, {s["name"].split(":")[0]: (s["department"], s["sources"][0]) for s in signers}


def _verdicts(university: Path) -> dict[str, str]:
    """Every signed export's verdict against its signed manifest (file → verdict)."""
    src = university / "sources"
    trust, signers = _signers(university)
    manifest = json.loads((university / "manifest.json").read_text("utf-8"))
    verdicts = {}
    for name, pattern in manifest["signed_exports"].items():
        department, source = signers[name]
        for path in src.glob(pattern):
            branch = path.stem if name == "signins" else None
            check = check_export(
                path, source=source, department=department, trust=trust, branch=branch
            )
            verdicts[str(path.relative_to(src))] = check.verdict.value
    return verdicts


def test_exactly_one_export_is_tampered_and_fails_its_signature(university, truth):
    tampered = _labelled(truth, "tampered_export")
    assert len(tampered) == 1
    bad = tampered["record_key"].iloc[0]
    verdicts = _verdicts(university)
    assert len(verdicts) >= 4
    assert {f: v for f, v in verdicts.items() if v != "valid"} == {bad: "signature_invalid"}
    private = university / "department_keys"
    assert {p.stat().st_mode & 0o777 for p in private.rglob("*.key")} == {0o600}
    assert not (university / "sources" / "department_keys").exists()  # no key beside the data
    # the altered line is labelled in records
    records = truth["records"]
    altered = records[records["labels"].str.contains("tampered_export")]
    assert len(altered) == 1 and altered["record_key"].iloc[0].startswith(bad + ":")


# --------------------------------------------------------------------------- native formats


def test_signin_csvs_are_gbk_with_mixed_dates(university):
    files = sorted((university / "sources" / "signins").glob("*.csv"))
    assert files
    styles = Counter()
    for path in files:
        data = path.read_bytes()
        text = data.decode("gbk")
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        assert text.startswith("支部名称,会议类型,会议日期,姓名,学号/工号,签到情况\n")
        for line in text.split("\n")[1:-1]:
            value = line.split(",")[2]
            styles["年" if "年" in value else "/" if "/" in value else "8"] += 1
            assert line.split(",")[5] in {"出席", "缺席", "请假"}
    assert set(styles) == {"年", "/", "8"}


def test_finance_csv_has_bom_and_money(university):
    data = (university / "sources" / "finance_dues.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\n")
    assert lines[0] == "人员编号,姓名,所属月份,缴费金额,缴费日期"
    assert all(line.split(",")[3].startswith("¥") for line in lines[1:-1])
    assert all(len(line.split(",")[2]) == 7 for line in lines[1:-1])


def test_dues_amounts_follow_the_person_type_rule(truth, tables):
    records = truth["records"].set_index("record_key")
    persons = truth["persons"].set_index("person_id")
    dues = tables["finance_dues"]
    dues = dues[dues["key"].map(records["labels"]) == ""]
    cents = dues["缴费金额"].str.lstrip("¥").astype(float).mul(100).round()
    kind = dues["key"].map(records["person_id"]).map(persons["person_type"])
    assert cents[kind == "student"].between(20, 200).all()
    assert cents[kind == "faculty"].median() > cents[kind == "student"].median()


def test_hr_xlsx_has_title_above_header_and_excel_dates(university):
    wb = openpyxl.load_workbook(university / "sources" / "hr_staff.xlsx")
    assert wb.sheetnames == ["教职工名册"]
    ws = wb["教职工名册"]
    assert ws["A1"].value.startswith("某某大学教职工名册（导出日期：2026年6月30日")
    assert ws["A2"].value is None
    header = [c.value for c in ws[3]]
    assert header == [
        "工号",
        "姓名",
        "性别",
        "身份证号码",
        "出生日期",
        "所在单位",
        "人员类别",
        "手机号码",
        "参加工作时间",
    ]
    assert ws["E4"].is_date and isinstance(ws["E4"].value, datetime)
    assert {c.value for c in ws["G"][3:]} <= {"在职教师", "在职职工", "离退休"}


def test_sqlite_tables_hold_the_manifest_counts(university):
    manifest = json.loads((university / "manifest.json").read_text("utf-8"))
    assert manifest["seed"] == SEED and manifest["as_of"] == "2026-06-30"
    for name, count in manifest["rows"].items():
        if ".sqlite:" not in name:
            continue
        db, table = name.split(":")
        with sqlite3.connect(university / "sources" / db) as con:
            (rows,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert rows == count > 0


def test_json_sources_parse(university):
    src = university / "sources"
    records = json.loads((src / "volunteer_records.json").read_text("utf-8"))
    assert list(records[0]) == ["record_id", "xh", "xm", "hdmc", "fwrq", "fwsc"]
    assert len({r["record_id"] for r in records}) == len(records)
    for line in (src / "learning_platform.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        assert list(row) == [
            "uid",
            "mobile",
            "nickname",
            "course_id",
            "course_title",
            "minutes",
            "score",
            "finished_at",
        ]
        assert row["finished_at"].endswith("+08:00")


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bytes_and_another_seed_differs(university, tmp_path):
    again = tmp_path / "again"
    generate_university(again, members=MEMBERS, seed=SEED)
    first, second = _hashes(university), _hashes(again)
    assert first == second
    other = tmp_path / "other"
    generate_university(other, members=MEMBERS, seed=SEED + 1)
    third = _hashes(other)
    for name in ("truth/persons.parquet", "truth/records.parquet", "sources/org_dept.sqlite",
                 "sources/hr_staff.xlsx", "sources/finance_dues.csv",
                 "sources/learning_platform.jsonl", "sources/volunteer_records.json"):  # fmt: skip
        assert first[name] != third[name], name


def test_clean_rates_inject_nothing(tmp_path):
    out = tmp_path / "clean"
    summary = generate_university(out, members=300, seed=3, rates=PollutionRates.none())
    assert summary.injections == 0
    records = pq.read_table(out / "truth" / "records.parquet").to_pandas()
    assert (records["labels"] == "").all()
    assert records["person_id"].notna().sum() > 0
    assert set(_verdicts(out).values()) == {"valid"}


def test_each_branch_secretary_signs_their_own_sheet_with_its_row_count(university):
    trust, _ = _signers(university)
    sheets = sorted((university / "sources" / "signins").glob("*.csv"))
    assert len(trust.branches("branch_signins")) == len(sheets)
    for sheet in sheets[:20]:
        manifest = read_manifest(sheet.with_name(sheet.name + ".manifest.json"))
        assert manifest.branch == sheet.stem and manifest.sequence == 1
        assert manifest.rows == len(sheet.read_bytes().splitlines()) - 1


def test_rates_are_validated():
    with pytest.raises(ValueError, match="future_date"):
        PollutionRates(future_date=1.5)
