"""``generate_university``: draw the population, build and pollute the sources, write
them in their native formats, sign the exports, and write the ground truth."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from domain.canonical import STATUS_DATE_FIELDS, STATUS_LADDER
from islandbridge.synth.fmt import iso_dates, mixed_dates, money, slash_dates, to_str, zfill
from islandbridge.synth.people import PERSON_TYPES, UNITS, Population, build_population
from islandbridge.synth.pollution import PollutionRates, SourceFrame
from islandbridge.synth.signing import department_key, sign_branch_sheet, sign_department_exports
from islandbridge.synth.sources import (
    HR_COLUMNS,
    FakePeople,
    OrgDept,
    Window,
    build_finance,
    build_hr,
    build_learning,
    build_org_dept,
    build_signins,
    build_student_affairs,
    build_volunteer,
)
from islandbridge.synth.vocab import (
    ATTENDANCE,
    COURSES,
    MEETING_TYPES,
    STATUS_ZH,
    VOLUNTEER_ACTIVITIES,
    build_name_pools,
)
from islandbridge.synth.writers import (
    join_lines,
    key_array,
    write_sqlite,
    write_xlsx,
)

__all__ = ["SIGNED_EXPORTS", "GenerationSummary", "department_key", "generate_university"]

log = logging.getLogger(__name__)

SOURCES: tuple[str, ...] = (
    "org_dept",
    "student_affairs",
    "hr_staff",
    "signins",
    "volunteer",
    "finance_dues",
    "learning",
)
#: Signed file exports: source (= department key name) → files, relative to sources/.
SIGNED_EXPORTS: dict[str, str] = {
    "hr_staff": "hr_staff.xlsx",
    "signins": "signins/*.csv",
    "finance_dues": "finance_dues.csv",
    "learning": "learning_platform.jsonl",
}
SIGNIN_HEADER = "支部名称,会议类型,会议日期,姓名,学号/工号,签到情况\n"
DUES_HEADER = "人员编号,姓名,所属月份,缴费金额,缴费日期\n"
_STEPS = (
    "population",
    "org_dept",
    "rosters",
    "signins",
    "volunteer",
    "finance_dues",
    "learning",
    "signatures",
    "truth",
    "databases",
)


@dataclass(frozen=True, slots=True)
class GenerationSummary:
    """What was generated: record counts per source, persons, injected errors."""

    path: Path
    counts: dict[str, int]
    persons: int
    members: int
    injections: int
    files: dict[str, int] = field(default_factory=dict)


class _Progress:
    """A rich progress bar over the generation steps, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self._bar = None
        if enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description:<14}"), BarColumn(), TimeElapsedColumn()
            )
            self._task = self._bar.add_task("generate", total=len(_STEPS))

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        if self._bar is not None:
            self._bar.update(self._task, description=name)
        yield
        if self._bar is not None:
            self._bar.advance(self._task)
        log.info("synth step %s took %.1fs", name, time.perf_counter() - started)


def _rngs(seed: int, n: int) -> list[np.random.Generator]:
    return [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(n)]


def _iso_seconds(seconds: np.ndarray) -> pa.Array:
    text = np.datetime_as_string(np.asarray(seconds, dtype=np.int64).astype("M8[s]"), unit="s")
    return pc.binary_join_element_wise(pa.array(text, pa.string()), "+08:00", "")


def _text(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.string())


def _nullable(values: np.ndarray) -> list:
    return [v if v else None for v in values.tolist()]


# --------------------------------------------------------------------------- writers per source


def _write_org_dept(
    rng: np.random.Generator, org: OrgDept, pop: Population, path: Path, as_of: date
) -> tuple[list[SourceFrame], list[pa.Array], dict[str, dict[str, list]]]:
    br = pop.branches
    members, history, meetings = org.members, org.history, org.meetings
    order = rng.permutation(len(members))
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    members.reorder(order)
    # history rows refer to the original member rows
    member_id = inverse[org.member_row_of_history] + 1
    h_order = np.lexsort((history.cols["status"], member_id))
    history.reorder(h_order)
    member_id = member_id[h_order]
    unit_codes = np.array([u.code for u in UNITS], dtype=object)
    unit_names = np.array([u.name for u in UNITS], dtype=object)
    status_zh = np.array(STATUS_ZH, dtype=object)
    mc = members.cols
    tables: dict[str, dict[str, list]] = {
        "branches": {
            "branch_code": br.code.tolist(),
            "branch_name": br.name.tolist(),
            "college_code": unit_codes[br.unit].tolist(),
            "college_name": unit_names[br.unit].tolist(),
        },
        "members": {
            "member_id": (np.arange(len(members)) + 1).tolist(),
            "sfzh": mc["sfzh"].tolist(),
            "xm": mc["xm"].tolist(),
            "xb": mc["xb"].tolist(),
            "mz": mc["mz"].tolist(),
            "csrq": iso_dates(mc["csrq"]).to_pylist(),
            "sjhm": mc["sjhm"].tolist(),
            "rylb": mc["rylb"].tolist(),
            "xh": mc["xh"].tolist(),
            "gh": mc["gh"].tolist(),
            "branch_code": br.code[mc["branch"]].tolist(),
            "dqzt": status_zh[mc["dqzt"]].tolist(),
            "updated_at": _iso_seconds(mc["updated"]).to_pylist(),
        },
        "status_history": {
            "id": (np.arange(len(history)) + 1).tolist(),
            "member_id": member_id.tolist(),
            "status": status_zh[history.cols["status"]].tolist(),
            "step_date": iso_dates(history.cols["date"]).to_pylist(),
        },
        "meetings": {
            "meeting_id": (np.arange(len(meetings)) + 1).tolist(),
            "branch_code": br.code[meetings.cols["branch"]].tolist(),
            "meeting_type": np.array(MEETING_TYPES, dtype=object)[meetings.cols["mtype"]].tolist(),
            "meeting_date": iso_dates(meetings.cols["date"]).to_pylist(),
        },
    }
    ddl = {
        "branches": "CREATE TABLE branches (branch_code TEXT PRIMARY KEY, branch_name TEXT, "
        "college_code TEXT, college_name TEXT)",
        "members": "CREATE TABLE members (member_id INTEGER PRIMARY KEY, sfzh TEXT, xm TEXT, "
        "xb TEXT, mz TEXT, csrq TEXT, sjhm TEXT, rylb TEXT, xh TEXT, gh TEXT, branch_code TEXT, "
        "dqzt TEXT, updated_at TEXT)",
        "status_history": "CREATE TABLE status_history (id INTEGER PRIMARY KEY, "
        "member_id INTEGER, status TEXT, step_date TEXT)",
        "meetings": "CREATE TABLE meetings (meeting_id INTEGER PRIMARY KEY, branch_code TEXT, "
        "meeting_type TEXT, meeting_date TEXT)",
    }
    write_sqlite(path, [(t, ddl[t], list(cols.values())) for t, cols in tables.items()])
    branch_frame = SourceFrame("org_dept", {}, np.full(len(br.code), -1))
    frames = [branch_frame, members, history, meetings]
    keys = [
        pc.binary_join_element_wise("branches:", _text(br.code), ""),
        key_array("members:", np.arange(len(members)) + 1),
        key_array("status_history:", np.arange(len(history)) + 1),
        key_array("meetings:", np.arange(len(meetings)) + 1),
    ]
    return frames, keys, tables


def _write_student_affairs(frame: SourceFrame, path: Path) -> tuple[pa.Array, dict[str, list]]:
    c = frame.cols
    table = {
        "id": (np.arange(len(frame)) + 1).tolist(),
        **{k: c[k].tolist() for k in ("xh", "xm", "sfzh", "xb", "yxmc", "bjmc", "lxdh", "rxnf")},
    }
    ddl = (
        "CREATE TABLE xs_jbxx (id INTEGER PRIMARY KEY, xh TEXT, xm TEXT, sfzh TEXT, xb TEXT, "
        "yxmc TEXT, bjmc TEXT, lxdh TEXT, rxnf INTEGER)"
    )
    write_sqlite(path, [("xs_jbxx", ddl, list(table.values()))])
    return key_array("xs_jbxx:", np.arange(len(frame)) + 1), table


def _write_hr(frame: SourceFrame, path: Path, as_of: date) -> pa.Array:
    c = frame.cols
    columns = [c[name] for name in HR_COLUMNS]
    title = f"某某大学教职工名册（导出日期：{as_of.year}年{as_of.month}月{as_of.day}日）"
    write_xlsx(path, "教职工名册", title, HR_COLUMNS, columns, as_of)
    return key_array("hr_staff.xlsx:", np.arange(len(frame)) + 4)


def _write_signins(
    frame: SourceFrame, pop: Population, folder: Path, sign: Callable[[Path, bytes, int], None]
) -> tuple[pa.Array, dict]:
    """One GBK CSV per branch, each signed from memory by its branch secretary (saves
    re-reading tens of thousands of files)."""
    folder.mkdir(parents=True, exist_ok=True)
    c = frame.cols
    codes = pop.branches.code
    branch = c["branch"]
    bounds = np.searchsorted(branch, np.arange(len(codes) + 1))
    line_no = np.arange(len(frame)) - bounds[branch] + 2
    code_text = pa.DictionaryArray.from_arrays(pa.array(branch, pa.int32()), _text(codes)).cast(
        pa.string()
    )
    keys = pc.binary_join_element_wise("signins/", code_text, ".csv:", to_str(line_no), "")
    del code_text
    names = _text(pop.branches.name)
    types = _text(np.array(MEETING_TYPES, dtype=object))
    atts = _text(np.array(ATTENDANCE, dtype=object))
    files: dict[str, int] = {}
    chunk = 2_000_000
    b = 0
    while b < len(codes):
        b_end = int(np.searchsorted(bounds, bounds[b] + chunk, side="right")) - 1
        b_end = max(b_end, b + 1)
        lo, hi = int(bounds[b]), int(bounds[b_end])
        lines = join_lines(
            [
                names.take(pa.array(branch[lo:hi])),
                types.take(pa.array(c["mtype"][lo:hi])),
                mixed_dates(c["date"][lo:hi], c["style"][lo:hi]),
                _text(c["name"][lo:hi]),
                _text(c["number"][lo:hi]),
                atts.take(pa.array(c["att"][lo:hi])),
            ]
        )
        for i in range(b, b_end):
            start, stop = int(bounds[i]) - lo, int(bounds[i + 1]) - lo
            data = (SIGNIN_HEADER + "".join(lines[start:stop])).encode("gbk")
            (folder / f"{codes[i]}.csv").write_bytes(data)
            sign(folder / f"{codes[i]}.csv", data, stop - start)
            files[f"signins/{codes[i]}.csv"] = stop - start
        b = b_end
    return keys, files


def _record_ids(n: int) -> pa.Array:
    return pc.binary_join_element_wise("V", zfill(np.arange(n) + 1, max(7, len(str(n)))), "")


def _write_volunteer(frame: SourceFrame, path: Path) -> pa.Array:
    c = frame.cols
    ids = _record_ids(len(frame))
    hours = c["fwsc"]
    hours_text = pc.binary_join_element_wise(
        to_str(hours // 2), np.where(hours % 2 == 1, "5", "0").astype(object).tolist(), "."
    )
    activities = _text(np.array(VOLUNTEER_ACTIVITIES, dtype=object)).take(pa.array(c["hdmc"]))
    objects = pc.binary_join_element_wise(
        '  {"record_id": "',
        ids,
        '", "xh": "',
        _text(c["xh"]),
        '", "xm": "',
        _text(c["xm"]),
        '", "hdmc": "',
        activities,
        '", "fwrq": "',
        iso_dates(c["fwrq"]),
        '", "fwsc": ',
        hours_text,
        "}",
        "",
    )
    body = ",\n".join(objects.to_pylist())
    path.write_text(f"[\n{body}\n]\n" if body else "[]\n", encoding="utf-8")
    return pc.binary_join_element_wise("volunteer:", ids, "")


def _write_finance(frame: SourceFrame, window: Window, path: Path) -> pa.Array:
    c = frame.cols
    months = window.first_month + np.arange(window.months)
    month_text = _text(np.datetime_as_string(months, unit="M").astype(object))
    lines = join_lines(
        [
            _text(c["number"]),
            _text(c["name"]),
            month_text.take(pa.array(c["month"])),
            money(c["cents"]),
            slash_dates(c["paid"]),
        ]
    )
    data = ("\ufeff" + DUES_HEADER + "".join(lines)).encode("utf-8")
    path.write_bytes(data)
    return key_array("finance_dues.csv:", np.arange(len(frame)) + 2)


def _write_learning(frame: SourceFrame, path: Path) -> pa.Array:
    c = frame.cols
    course_ids = _text(np.array([cid for cid, _ in COURSES], dtype=object))
    titles = _text(np.array([t for _, t in COURSES], dtype=object))
    course = pa.array(c["course"])
    score = c["score"]
    score_text = pc.binary_join_element_wise(to_str(score // 10), to_str(score % 10), ".")
    lines = pc.binary_join_element_wise(
        '{"uid": "',
        _text(c["uid"]),
        '", "mobile": "',
        _text(c["mobile"]),
        '", "nickname": "',
        _text(c["nickname"]),
        '", "course_id": "',
        course_ids.take(course),
        '", "course_title": "',
        titles.take(course),
        '", "minutes": ',
        to_str(c["minutes"]),
        ', "score": ',
        score_text,
        ', "finished_at": "',
        _iso_seconds(c["finished"]),
        '"}\n',
        "",
    )
    with path.open("wb") as fh:
        for batch in range(0, len(lines), 1_000_000):
            fh.write("".join(lines.slice(batch, 1_000_000).to_pylist()).encode("utf-8"))
    return key_array("learning_platform.jsonl:", np.arange(len(frame)) + 1)


# --------------------------------------------------------------------------- truth


def _persons_table(pop: Population) -> pa.Table:
    n = pop.n
    member = pop.is_member
    unit_names = np.array([u.name for u in UNITS], dtype=object)
    status_values = np.array([s.value for s in STATUS_LADDER], dtype=object)
    branch_code = np.where(member, pop.branches.code[np.maximum(pop.branch, 0)], None)
    columns: dict[str, pa.Array] = {
        "person_id": pa.array(np.arange(n) + 1, pa.int64()),
        "id_number": _text(pop.id_number),
        "name": _text(pop.name),
        "gender": _text(np.where(pop.male, "M", "F").astype(object)),
        "birth_date": pa.array(pop.birth, pa.date32()),
        "mobile": _text(pop.mobile),
        "student_no": pa.array(_nullable(pop.student_no), pa.string()),
        "staff_no": pa.array(_nullable(pop.staff_no), pa.string()),
        "person_type": _text(np.array(PERSON_TYPES, dtype=object)[pop.ptype]),
        "college": _text(unit_names[pop.unit]),
        "branch_code": pa.array(branch_code, pa.string()),
        "is_member": pa.array(member),
        "status": pa.array(
            np.where(member, status_values[np.maximum(pop.status, 0)], None), pa.string()
        ),
    }
    for k, name in enumerate(STATUS_DATE_FIELDS.values()):
        columns[name] = pa.array(pop.steps[:, k], pa.date32())
    return pa.table(columns)


def _write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd", row_group_size=1_000_000)


def _load_databases(
    tables: dict[str, dict[str, list]],
    students: dict[str, list],
    pg_url: str | None,
    pg_schema: str,
    mysql_url: str | None,
    mysql_table: str,
) -> None:
    import pandas as pd
    from sqlalchemy import create_engine, text

    if pg_url:
        engine = create_engine(pg_url)
        try:
            with engine.begin() as con:
                con.execute(text(f'DROP SCHEMA IF EXISTS "{pg_schema}" CASCADE'))
                con.execute(text(f'CREATE SCHEMA "{pg_schema}"'))
                for name, cols in tables.items():
                    pd.DataFrame(cols).to_sql(
                        name, con, schema=pg_schema, index=False, chunksize=5_000, method="multi"
                    )
        finally:
            engine.dispose()
    if mysql_url:
        engine = create_engine(mysql_url)
        try:
            with engine.begin() as con:
                con.execute(text(f"DROP TABLE IF EXISTS `{mysql_table}`"))
                pd.DataFrame(students).to_sql(
                    mysql_table, con, index=False, chunksize=5_000, method="multi"
                )
        finally:
            engine.dispose()


# --------------------------------------------------------------------------- entry point


def generate_university(
    out_dir: Path,
    *,
    members: int,
    seed: int,
    rates: PollutionRates | None = None,
    as_of: date = date(2026, 6, 30),
    months: int = 6,
    pg_url: str | None = None,
    mysql_url: str | None = None,
    progress: bool = False,
    pg_schema: str = "org_dept",
    mysql_table: str = "xs_jbxx",
) -> GenerationSummary:
    """Write the synthetic university to ``out_dir`` (see docs/synthetic-university.md).

    Deterministic: the same arguments give byte-identical files. ``pg_url`` also loads
    the org_dept tables into schema ``pg_schema`` (replaced); ``mysql_url`` loads
    student_affairs' roster into table ``mysql_table`` (replaced).
    """
    if members < 1:
        raise ValueError("members must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    rates = rates if rates is not None else PollutionRates()
    out = Path(out_dir)
    for old in ("sources", "truth", "department_keys"):
        shutil.rmtree(out / old, ignore_errors=True)
    src, truth_dir, key_dir = out / "sources", out / "truth", out / "department_keys"
    for d in (src, truth_dir):
        d.mkdir(parents=True, exist_ok=True)
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    window = Window(as_of, months)
    r = _rngs(seed, 12)
    tamper_target: str | None = None
    tamper: _Tamper | None = None
    if rates.tampered_export > 0:
        # one small file: a branch's sign-in sheet, so the demo shows a refused export
        # without emptying a department (finance's whole export once was); the draw that
        # chose between the two is kept so every other generated byte stays the same
        r[10].random()
        tamper_target = "signins"
    records: list[pa.Table] = []
    injections: list[pa.Table] = []
    counts: dict[str, int] = {}
    files: dict[str, int] = {}

    def collect(source: str, frames: list[SourceFrame], keys: list[pa.Array]) -> None:
        for frame, key in zip(frames, keys, strict=True):
            rec, inj = frame.truth(key)
            records.append(rec)
            injections.append(inj)
        counts[source] = sum(len(f) for f in frames)

    with _Progress(progress) as bar:
        with bar.step("population"):
            pools = build_name_pools(seed)
            pop = build_population(r[0], pools, members, as_of)
            fake = FakePeople(r[1], pools, pop)
        with bar.step("org_dept"):
            org = build_org_dept(r[2], pop, window, rates, as_of)
            frames, keys, org_tables = _write_org_dept(
                r[3], org, pop, src / "org_dept.sqlite", as_of
            )
            collect("org_dept", frames, keys)
            for name, frame in zip(org_tables, frames, strict=True):
                files[f"org_dept.sqlite:{name}"] = len(frame)
            meetings = org.meetings
            del org, frames, keys
        with bar.step("rosters"):
            students = build_student_affairs(r[4], pop, rates)
            key, student_table = _write_student_affairs(students, src / "student_affairs.sqlite")
            collect("student_affairs", [students], [key])
            files["student_affairs.sqlite:xs_jbxx"] = len(students)
            del students
            hr = build_hr(r[5], pop, rates)
            collect("hr_staff", [hr], [_write_hr(hr, src / "hr_staff.xlsx", as_of)])
            files["hr_staff.xlsx"] = len(hr)
            del hr
        with bar.step("signins"):
            signins = build_signins(r[6], pop, meetings, window, rates, fake)
            del meetings
            key, signin_files = _write_signins(
                signins, pop, src / "signins", sign_branch_sheet(key_dir, seed, as_of)
            )
            if tamper_target == "signins":
                tamper = _choose_signin_tamper(r[10], signins, key)
            collect("signins", [signins], [key])
            files.update(signin_files)
            del signins, key
        with bar.step("volunteer"):
            volunteer = build_volunteer(r[7], pop, window, rates, fake)
            collect(
                "volunteer",
                [volunteer],
                [_write_volunteer(volunteer, src / "volunteer_records.json")],
            )
            files["volunteer_records.json"] = len(volunteer)
            del volunteer
        with bar.step("finance_dues"):
            finance = build_finance(r[8], pop, window, rates, fake)
            key = _write_finance(finance, window, src / "finance_dues.csv")
            files["finance_dues.csv"] = len(finance)
            if tamper_target == "finance_dues":
                tamper = _choose_dues_tamper(r[10], finance, key)
            collect("finance_dues", [finance], [key])
            del finance, key
        with bar.step("learning"):
            learning = build_learning(r[9], pop, window, rates, fake)
            collect(
                "learning", [learning], [_write_learning(learning, src / "learning_platform.jsonl")]
            )
            files["learning_platform.jsonl"] = len(learning)
            del learning
        with bar.step("signatures"):
            sign_department_exports(out, seed, as_of, SIGNED_EXPORTS, files)
            if tamper is not None:
                injections.append(tamper.apply(src))
        with bar.step("truth"):
            _write_parquet(_persons_table(pop), truth_dir / "persons.parquet")
            _write_parquet(pa.concat_tables(records), truth_dir / "records.parquet")
            inj = pa.concat_tables(injections)
            _write_parquet(inj, truth_dir / "injections.parquet")
            manifest = {
                "generator": "islandbridge.synth",
                "seed": seed,
                "members": members,
                "as_of": as_of.isoformat(),
                "months": months,
                "rates": rates.as_dict(),
                "signed_exports": SIGNED_EXPORTS,
                "records": counts,
                "rows": files,
            }
            (out / "manifest.json").write_text(
                json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
        with bar.step("databases"):
            if pg_url or mysql_url:
                _load_databases(
                    org_tables, student_table, pg_url, pg_schema, mysql_url, mysql_table
                )
    summary = GenerationSummary(
        path=out,
        counts=counts,
        persons=pop.n,
        members=members,
        injections=inj.num_rows,
        files={k: v for k, v in files.items() if not k.startswith("signins/")},
    )
    log.info("generated %d persons, %d injected errors", pop.n, inj.num_rows)
    return summary


@dataclass(frozen=True, slots=True)
class _Tamper:
    """One line of a signed export to alter after signing: field ``column`` → ``new``."""

    source: str
    file: str  # relative to sources/
    line: int  # 1-based physical line
    column: int
    field: str
    new: str
    encoding: str

    def apply(self, src: Path) -> pa.Table:
        path = src / self.file
        data = path.read_bytes()
        newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        start = 0 if self.line == 1 else int(newlines[self.line - 2]) + 1
        end = int(newlines[self.line - 1])
        values = data[start:end].decode(self.encoding).split(",")
        values[self.column] = self.new
        path.write_bytes(data[:start] + ",".join(values).encode(self.encoding) + data[end:])
        return pa.table(
            {
                "source": pa.array([self.source], pa.string()),
                "record_key": pa.array([self.file], pa.string()),
                "error_class": pa.array(["tampered_export"], pa.string()),
                "field": pa.array([self.field], pa.string()),
            }
        )


def _split_key(key: str) -> tuple[str, int]:
    file, line = key.rsplit(":", 1)
    return file, int(line)


def _choose_signin_tamper(rng: np.random.Generator, frame: SourceFrame, keys: pa.Array) -> _Tamper:
    """A clean sign-in whose 签到情况 will be flipped (缺席/请假 → 出席, 出席 → 缺席)."""
    absent = frame.clean_rows(frame.cols["att"] != 0)
    rows = absent if len(absent) else frame.clean_rows()
    row = int(rng.choice(rows))
    frame.mark(np.array([row]), "tampered_export")
    file, line = _split_key(keys[row].as_py())
    new = "出席" if frame.cols["att"][row] != 0 else "缺席"
    return _Tamper("signins", file, line, 5, "签到情况", new, "gbk")


def _choose_dues_tamper(rng: np.random.Generator, frame: SourceFrame, keys: pa.Array) -> _Tamper:
    """A clean dues payment whose amount will be raised by ¥10."""
    row = int(rng.choice(frame.clean_rows()))
    frame.mark(np.array([row]), "tampered_export")
    file, line = _split_key(keys[row].as_py())
    cents = int(frame.cols["cents"][row]) + 1000
    return _Tamper(
        "finance_dues", file, line, 3, "缴费金额", f"¥{cents // 100}.{cents % 100:02d}", "utf-8"
    )
