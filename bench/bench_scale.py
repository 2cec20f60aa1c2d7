"""Issue 13's hot paths, each beside the code it replaced, in the same process and run.

    python -m bench.run --only scale --sizes 10000,100000

The old code is the module as it was at commit ``BASELINE`` (``git show``), loaded
under a private name, so "before" is exactly what ran before, not a re-creation. Each
step runs on inputs shaped like a university of ``size`` members (names repeated
across sources, tokens offered by several sources); figures are CPU seconds of this
process (``time.process_time``; the machine is shared, so wall time is noisier) and
the ratio new / old. Outputs of old and new are compared and must be equal.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from bench.checkouts import ROOT, code_at, installation_copy

__all__ = [
    "BASELINE",
    "STAGES_BASELINE",
    "baseline_module",
    "bench_scale",
    "bench_scale_pipeline",
    "bench_scale_stages",
    "pipeline_once",
]

#: main before issue 13's work
BASELINE = "1c7795e"
#: main before the second round on the source stages (standardise, the GX suite, Data Docs)
STAGES_BASELINE = "21fd49d"


def baseline_module(path: str, commit: str = BASELINE) -> types.ModuleType:
    """The module at ``path`` as it was at ``commit``, loaded as ``baseline.<name>``
    (operators it registers are not registered again)."""
    import anonymize.operators.registry as registry

    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:{path}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    name = "baseline." + path.removesuffix(".py").replace("/", ".")
    module = types.ModuleType(name)
    module.__file__ = f"{commit}:{path}"
    sys.modules[name] = module
    register = registry.register_operator
    registry.register_operator = lambda cls: cls  # type: ignore[assignment]
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    finally:
        registry.register_operator = register  # type: ignore[assignment]
    return module


def _cpu(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.process_time()
    out = fn()
    return time.process_time() - started, out


def _names(size: int) -> list[str]:
    """Member names as the sources carry them: each member's name in about seven rows."""
    from faker import Faker

    fake = Faker("zh_CN")
    Faker.seed(13)
    distinct = [fake.name() for _ in range(size)]
    rng = np.random.default_rng(13)
    return [distinct[i] for i in rng.integers(0, size, size * 7)]


def _clk(size: int) -> dict[str, object]:
    from anonymize.operators import clk_bloom as new

    old = baseline_module("anonymize/operators/clk_bloom.py")
    names = _names(size)
    key = b"bench-clk-key-0123456789abcdef01"
    old.clk_encode(names[:100], key)  # warm: pypinyin's dictionaries load on first use
    new.clk_encode(names[:100], key)
    old_s, a = _cpu(lambda: old.clk_encode(names, key))
    new_s, b = _cpu(lambda: new.clk_encode(names, key))
    if not np.array_equal(a, b):  # type: ignore[arg-type]
        raise AssertionError("clk_encode: new encodings differ from the old ones")
    return {
        "clk_rows": len(names),
        "clk_old_s": round(old_s, 2),
        "clk_new_s": round(new_s, 2),
        "clk_ratio": round(new_s / old_s, 2),
    }


def _vault(size: int, workdir: Path) -> dict[str, object]:
    """Seven sources offering the same members' id tokens, as a run's pseudonymise does."""
    from anonymize import Keyring, Vault, generate_keyring
    from anonymize import vault as new

    old = baseline_module("anonymize/vault.py")
    keyring = Keyring(generate_keyring())
    tokens = pd.Series([f"k1:{i:032x}" for i in range(size)], dtype="string")
    values = pd.Series([f"{i:018d}" for i in range(size)], dtype="string")
    out: dict[str, object] = {}
    for label, cls in (("old", old.Vault), ("new", new.Vault)):
        folder = workdir / f"vault-{label}"
        vault = cls(folder / "vault.sqlite", keyring)
        try:
            seconds, _ = _cpu(
                lambda v=vault: [
                    v.store(tokens, values, field="id_number", domain="id_number") for _ in range(7)
                ]
            )
            out[f"vault_{label}_s"] = round(seconds, 2)
            if vault.count() != size:
                raise AssertionError(f"vault ({label}) holds {vault.count()} rows, not {size}")
        finally:
            vault.close()
    check = Vault(workdir / "vault-new" / "vault.sqlite", keyring)
    try:
        if check.verify_rows() != size:
            raise AssertionError("vault rows written by the new store do not all decrypt")
    finally:
        check.close()
    out["vault_ratio"] = round(float(out["vault_new_s"]) / float(out["vault_old_s"]), 2)  # type: ignore[arg-type]
    return out


def _text_steps(size: int) -> dict[str, object]:
    """White-space regexes (``\\s``) that pandas ran in Python's ``re`` per value, now RE2."""
    from domain import identifiers, text
    from quality import duplicates

    olds = {
        "clean_text": baseline_module("domain/text.py").clean_text,
        "normalised_key": baseline_module("quality/duplicates.py").normalised_key,
        "identifier_text": baseline_module("domain/identifiers.py").identifier_text,
    }
    news = {
        "clean_text": text.clean_text,
        "normalised_key": duplicates.normalised_key,
        "identifier_text": identifiers.identifier_text,
    }
    rng = np.random.default_rng(5)
    names = pd.Series(_names(size), dtype="string")
    padded = names.where(rng.random(len(names)) < 0.9, " " + names + "\u3000")
    ids = pd.Series([f"{i:018d}" for i in rng.integers(0, 10**17, len(names))], dtype="string")
    inputs = {"clean_text": padded, "normalised_key": padded, "identifier_text": ids}
    out: dict[str, object] = {}
    old_total = new_total = 0.0
    for step, values in inputs.items():
        old_s, a = _cpu(lambda f=olds[step], v=values: f(v))
        new_s, b = _cpu(lambda f=news[step], v=values: f(v))
        pd.testing.assert_series_equal(a, b)  # type: ignore[arg-type]
        old_total += old_s
        new_total += new_s
    out["text_old_s"] = round(old_total, 2)
    out["text_new_s"] = round(new_total, 2)
    out["text_ratio"] = round(new_total / old_total, 2)
    return out


def _verdict(size: int) -> dict[str, object]:
    """Verdict assembly (codes joined per row) on ``size`` × 7 rows, 3% errors, 30% flags."""
    from quality import verdict as new

    old = baseline_module("quality/verdict.py")
    rng = np.random.default_rng(9)
    n = size * 7
    frame = pd.DataFrame({"record_key": pd.array([f"k{i}" for i in range(n)], dtype="string")})
    frame["flags"] = pd.array(rng.choice(["", "earlier_flag"], n, p=[0.9, 0.1]), dtype="string")
    errors = {c: rng.random(n) < 0.01 for c in ("id_format", "id_region", "future_date")}
    warnings = {c: rng.random(n) < 0.15 for c in ("mobile_unallocated", "name_spacing")}
    parse = pd.Series(rng.choice(["", "mobile:not_a_number"], n, p=[0.99, 0.01]), dtype="string")
    results = []
    out: dict[str, object] = {}
    for label, module in (("old", old), ("new", new)):
        seconds, verdict = _cpu(
            lambda m=module: m.verdict_from_masks(frame, errors, warnings, parse_errors=parse)
        )
        results.append(verdict)
        out[f"verdict_{label}_s"] = round(seconds, 2)
    pd.testing.assert_frame_equal(results[0].accepted, results[1].accepted)
    pd.testing.assert_frame_equal(results[0].quarantined, results[1].quarantined)
    out["verdict_ratio"] = round(float(out["verdict_new_s"]) / float(out["verdict_old_s"]), 2)  # type: ignore[arg-type]
    return out


def _hmac(size: int) -> dict[str, object]:
    """hmac_token over a column (each ID in about seven rows) beside a bare hmac loop."""
    import hashlib
    import hmac

    from anonymize import Keyring, generate_keyring
    from anonymize.operators.hmac_token import hmac_tokens

    keyring = Keyring(generate_keyring())
    rng = np.random.default_rng(3)
    ids = [f"{i:018d}" for i in rng.integers(0, 10**17, size)]
    values = [ids[i] for i in rng.integers(0, size, size * 7)]
    key = keyring.derive("hmac_token", "id_number")
    bare_s, _ = _cpu(
        lambda: [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in values]
    )
    column = pd.Series(values, dtype="string")
    token_s, _ = _cpu(lambda: hmac_tokens(column, keyring, "id_number"))
    return {
        "hmac_bare_loop_s": round(bare_s, 2),
        "hmac_token_s": round(token_s, 2),
        "hmac_token_x_bare": round(token_s / bare_s, 2),
    }


def _quality(size: int) -> dict[str, object]:
    """The member suite on ``size`` × 3 rows: full, built-in only, and per expectation."""
    from bench.bench_quality import AS_OF, _builtin_only, member_frame
    from quality import load_quality_config, validate_frame

    config = load_quality_config(ROOT / "config" / "quality.yaml")
    frame = member_frame(size * 3)
    validate_frame(frame.head(100), entity="member", config=config, as_of=AS_OF)  # warm
    builtin = _builtin_only(config)
    only_s, only = _cpu(lambda: validate_frame(frame, entity="member", config=builtin, as_of=AS_OF))
    full_s, full = _cpu(lambda: validate_frame(frame, entity="member", config=config, as_of=AS_OF))
    n_only, n_full = len(only.expectations), len(full.expectations)  # type: ignore[attr-defined]
    return {
        "gx_rows": len(frame),
        "gx_builtin_s": round(only_s, 2),
        "gx_full_s": round(full_s, 2),
        "gx_full_x_builtin": round(full_s / only_s, 2),
        "gx_expectations": f"{n_full} vs {n_only}",
        "gx_per_expectation_x": round((full_s / n_full) / (only_s / n_only), 2),
    }


def _csv(size: int, workdir: Path) -> dict[str, object]:
    """Sign-in sheets (GBK CSV, 5,000 rows a file, ``size`` rows in all) → canonical rows
    through the file connector and ``standardise``, with the exact reader only (old) and
    with the pyarrow path, beside ``pyarrow.csv.read_csv`` of the same files (standardise
    is the current code in both)."""
    import pyarrow.csv as pacsv

    from bench.bench_connectors import _source, _write_gbk_csv
    from connectors import ExtractContext, connector_for, standardise
    from connectors import files as files_module

    sources = workdir / "csv-sources"
    (sources / "signins").mkdir(parents=True)
    per_file = 5_000
    paths = []
    for i in range(max(1, size // per_file)):
        path = sources / "signins" / f"{i % 99 + 1:02d}U{i + 1:04d}.csv"
        _write_gbk_csv(path, per_file)
        paths.append(path)
    rows = per_file * len(paths)
    utf8 = [p.read_bytes().decode("gb18030").encode() for p in paths]
    arrow_s, _ = _cpu(lambda: [pacsv.read_csv(pa_buffer(b)) for b in utf8])
    source = _source("branch_signins", signature={"required": False})

    def through(fast: bool) -> list[pd.DataFrame]:
        files_module._FAST_CSV = fast
        context = ExtractContext(sources_dir=sources)
        return [standardise(c.frame, source) for c in connector_for(source, context).read()]

    try:
        old_s, old = _cpu(lambda: through(False))
        new_s, new = _cpu(lambda: through(True))
    finally:
        files_module._FAST_CSV = True
    for a, b in zip(old, new, strict=True):  # type: ignore[call-overload]
        pd.testing.assert_frame_equal(a, b)
    # as the pipeline runs it: the files landed as one text frame, then standardised once
    context = ExtractContext(sources_dir=sources)
    keep = ["record_key", *source.columns, *(f"__file_{f}" for f in source.file.filename_fields)]
    landed = pd.concat(
        [c.frame.reindex(columns=keep) for c in connector_for(source, context).read()],
        ignore_index=True,
    ).astype("string")
    before = baseline_module("connectors/mapping.py", STAGES_BASELINE).standardise
    landed_old_s, landed_old = _cpu(lambda: before(landed, source))
    landed_s, landed_new = _cpu(lambda: standardise(landed, source))
    pd.testing.assert_frame_equal(landed_old, landed_new)  # type: ignore[arg-type]
    return {
        "csv_rows": rows,
        "csv_exact_reader_s": round(old_s, 2),
        "csv_pyarrow_reader_s": round(new_s, 2),
        "csv_ratio": round(new_s / old_s, 2),
        "pyarrow_read_s": round(arrow_s, 2),
        "standardise_x_pyarrow_exact": round(arrow_s / old_s, 3),
        "standardise_x_pyarrow": round(arrow_s / new_s, 3),
        f"landed_std_{STAGES_BASELINE}_s": round(landed_old_s, 3),
        "landed_std_s": round(landed_s, 3),
        "landed_std_x_pyarrow": round(arrow_s / landed_s, 3),
    }


def pa_buffer(data: bytes) -> object:
    import pyarrow as pa

    return pa.py_buffer(data)


def bench_scale(size: int, workdir: Path) -> dict[str, object]:
    """Issue 13's hot paths beside the code they replaced (commit 1c7795e), CPU seconds."""
    return {
        **_clk(size),
        **_vault(size, workdir),
        **_text_steps(size),
        **_verdict(size),
        **_hmac(size),
        **_quality(size),
        **_csv(size, workdir),
    }


#: run in a child with PYTHONPATH=<code root>: every stage once, in DAG order; per stage
#: wall and CPU seconds (``process_time``: this process, all threads)
_RUNNER = r"""
import json, os, secrets, sys, time
from datetime import date
from pathlib import Path
from islandbridge import stages
from islandbridge.synth.volunteer_api import serve_volunteer_api
data = Path(sys.argv[1])
token = secrets.token_urlsafe(16)
wall, cpu, rss = {}, {}, {}
def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return 0.0
def timed(name, fn, *args):
    try:  # the peak RSS from here on is this stage's (Linux: 5 resets VmHWM)
        open("/proc/self/clear_refs", "w").write("5")
    except OSError:
        pass
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    wall[name] = wall.get(name, 0.0) + time.perf_counter() - t
    cpu[name] = cpu.get(name, 0.0) + time.process_time() - c
    rss[name] = max(rss.get(name, 0.0), peak_mib())
    return out
with serve_volunteer_api(data / "university/sources/volunteer_records.json", token=token) as api:
    os.environ["ISLANDBRIDGE_VOLUNTEER_API_URL"] = f"{api.url}/api/v1/records"
    os.environ["ISLANDBRIDGE_VOLUNTEER_API_TOKEN"] = token
    run = timed("plan", stages.plan, {"data_dir": str(data)}, "bench", date(2026, 7, 1))
    for source in run["sources"]:
        for stage in (stages.extract, stages.validate, stages.pseudonymise):
            timed(stage.__name__, stage, run, source)
    timed("link", stages.link, run)
    published = timed("publish", stages.publish, run)
    timed("report", stages.report, run)
print(json.dumps({"wall": wall, "cpu": cpu, "rss": rss, "tables": published["tables"]}))
"""


#: the source stages only (plan, then extract, validate, pseudonymise per source); CPU per
#: stage, and each stage's result without paths (to compare old and new)
_STAGES_RUNNER = r"""
import json, os, secrets, sys, time
from datetime import date
from pathlib import Path
from islandbridge import stages
from islandbridge.synth.volunteer_api import serve_volunteer_api
data = Path(sys.argv[1])
token = secrets.token_urlsafe(16)
cpu, results = {}, {}
with serve_volunteer_api(data / "university/sources/volunteer_records.json", token=token) as api:
    os.environ["ISLANDBRIDGE_VOLUNTEER_API_URL"] = f"{api.url}/api/v1/records"
    os.environ["ISLANDBRIDGE_VOLUNTEER_API_TOKEN"] = token
    c = time.process_time()
    run = stages.plan({"data_dir": str(data)}, "bench", date(2026, 7, 1))
    cpu["plan"] = time.process_time() - c
    for source in run["sources"]:
        for stage in (stages.extract, stages.validate, stages.pseudonymise):
            c = time.process_time()
            out = stage(run, source)
            cpu[stage.__name__] = cpu.get(stage.__name__, 0.0) + time.process_time() - c
            if stage is not stages.extract:
                results[f"{stage.__name__}:{source}"] = {
                    k: v for k, v in out.items() if not isinstance(v, str) or "/" not in v
                }
import pandas as pd
for path in sorted((data / "runs").rglob("*.parquet")):  # every table the stages wrote
    frame = pd.read_parquet(path)
    digest = int(pd.util.hash_pandas_object(frame, index=False).sum()) if len(frame) else 0
    results[str(path.relative_to(data))] = [len(frame), list(frame.columns), digest]
print(json.dumps({"wall": {}, "cpu": cpu, "tables": {}, "results": results}))
"""


def pipeline_once(code: Path, template: Path, target: Path, runner: str = _RUNNER) -> dict:
    """Every stage once, inline in a child running the code at ``code`` on a copy of
    ``template`` (a generated university with secrets) in ``target``: whole-run wall,
    CPU and peak RSS, published rows, and per stage CPU, wall and peak RSS."""
    import os
    import shutil

    installation_copy(template, target)
    env = {**os.environ, "PYTHONPATH": str(code), "GX_ANALYTICS_ENABLED": "False"}
    started = time.perf_counter()
    errors = target.with_name(f"{target.name}-stderr.txt")
    with errors.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", runner, str(target)],
            cwd=code,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        out = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if (code_ := os.waitstatus_to_exitcode(status)) != 0:
        tail = "".join(errors.read_text(errors="replace").splitlines(keepends=True)[-40:])
        raise RuntimeError(f"pipeline run with {code} failed (exit {code_}):\n{tail}")
    result = json.loads(out.strip().splitlines()[-1])
    shutil.rmtree(target, ignore_errors=True)
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        # the runner resets the high-water mark per stage: the run's peak is the highest
        "rss_mib": max([usage.ru_maxrss / 1024, *result.get("rss", {}).values()]),
        "rows": sum(result["tables"].values()),
        "stage_cpu": result["cpu"],
        "stage_wall": result["wall"],
        "results": result.get("results", {}),
        "stage_rss_mib": result.get("rss", {}),
    }


def bench_scale_pipeline(size: int, workdir: Path) -> dict[str, object]:
    """The whole pipeline inline, per stage, at 1c7795e (old) then at HEAD (new)."""
    from islandbridge.demo import ensure_demo_secrets, ensure_university

    template = workdir / "template"
    ensure_university(template, members=size, seed=1)
    ensure_demo_secrets(template)
    with code_at({"old": BASELINE, "new": "HEAD"}, workdir) as codes:
        old = pipeline_once(codes["old"], template, workdir / "old")
        new = pipeline_once(codes["new"], template, workdir / "new")
    if old["rows"] != new["rows"]:
        raise AssertionError(f"published rows differ: old {old['rows']}, new {new['rows']}")
    out: dict[str, object] = {
        "rows": new["rows"],
        "old_cpu_s": round(old["cpu"], 1),
        "new_cpu_s": round(new["cpu"], 1),
        "cpu_ratio": round(new["cpu"] / old["cpu"], 2),
        "old_wall_s": round(old["wall"], 1),
        "new_wall_s": round(new["wall"], 1),
        "old_rss_MiB": round(old["rss_mib"]),
        "new_rss_MiB": round(new["rss_mib"]),
    }
    for stage, seconds in new["stage_cpu"].items():
        before = old["stage_cpu"].get(stage, 0.0)
        out[f"{stage} cpu old→new"] = f"{before:.1f}→{seconds:.1f}"
    return out


def bench_scale_stages(size: int, workdir: Path) -> dict[str, object]:
    """extract, validate and pseudonymise of every source, inline, CPU s per stage, at
    21fd49d (old) then at HEAD (new); each stage's results (rows in, accepted,
    quarantined per reason, tokens) must be equal."""
    from islandbridge.demo import ensure_demo_secrets, ensure_university

    template = workdir / "template"
    ensure_university(template, members=size, seed=1)
    ensure_demo_secrets(template)
    with code_at({"old": STAGES_BASELINE, "new": "HEAD"}, workdir) as codes:
        old = pipeline_once(codes["old"], template, workdir / "old", _STAGES_RUNNER)
        new = pipeline_once(codes["new"], template, workdir / "new", _STAGES_RUNNER)
    if old["results"] != new["results"]:
        differ = sorted(k for k in old["results"] if old["results"][k] != new["results"].get(k))
        raise AssertionError(f"stage results differ between old and new: {differ}")
    out: dict[str, object] = {"tables compared": sum("parquet" in k for k in new["results"])}
    total_old = total_new = 0.0
    for stage in ("extract", "validate", "pseudonymise"):
        before, after = old["stage_cpu"][stage], new["stage_cpu"][stage]
        total_old, total_new = total_old + before, total_new + after
        out[f"{stage} cpu old→new"] = f"{before:.1f}→{after:.1f}"
        out[f"{stage} ratio"] = round(after / before, 2)
    out["3 stages old→new"] = f"{total_old:.1f}→{total_new:.1f}"
    out["3 stages ratio"] = round(total_new / total_old, 2)
    return out
