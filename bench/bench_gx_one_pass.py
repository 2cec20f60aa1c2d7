"""The member suite through GX: full suite against the built-in expectations only, on the
same rows, with main's code before the one-pass change and with this tree, in one run.

    python -m bench.run --only gx_one_pass --sizes 10000,100000

``size`` members → ``3 × size`` member rows (:func:`bench.bench_quality.member_frame`, 1 %
of them with one defect each), as the ``scale`` benchmark's ``gx_full_x_builtin``. Each
code tree runs in a child of its own; each measure is the least CPU time of three
validations (``validate_frame``: GX validation and the row verdicts). This tree also
times its declared suite run one GX expectation per rule (the design before), to tell
GX's per-expectation cost from the rules' own work. The verdicts (accepted and
quarantined rows, reasons, flags) must be equal between the trees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.checkouts import ROOT, code_at

__all__ = ["BEFORE", "bench_gx_one_pass"]

#: main before the custom rules ran in one metric pass
BEFORE = "972a509"

_RUNNER = r"""
import json, sys, time
from pathlib import Path
import pandas as pd
from bench.bench_quality import AS_OF, _builtin_only, member_frame
from quality import load_quality_config, validate_frame

rows, per_expectation = int(sys.argv[1]), sys.argv[2] == "1"
config = load_quality_config(Path("config/quality.yaml"))
frame = member_frame(rows)
validate_frame(frame.head(100), entity="member", config=config, as_of=AS_OF)  # warm
builtin = _builtin_only(config)

def least(cfg):
    best, verdict = None, None
    for _ in range(3):
        started = time.process_time()
        verdict = validate_frame(frame, entity="member", config=cfg, as_of=AS_OF)
        spent = time.process_time() - started
        best = spent if best is None else min(best, spent)
    return best, verdict

def digest(part):
    return int(pd.util.hash_pandas_object(part, index=False).sum()) if len(part) else 0

out = {}
out["builtin_s"], only = least(builtin)
out["full_s"], full = least(config)
out["expectations"] = [len(full.expectations), len(only.expectations)]
out["verdict"] = [digest(full.accepted), digest(full.quarantined), len(full.quarantined)]
if per_expectation:  # this tree's declared suite, one GX expectation per rule
    import quality.rule_results as rule_results
    from quality.suites import build_suite
    rule_results.executed_suite = build_suite
    out["per_expectation_s"], again = least(config)
    assert digest(again.quarantined) == out["verdict"][1]
print(json.dumps(out))
"""


def _child(code: Path, rows: int, per_expectation: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), "GX_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(rows), "1" if per_expectation else "0"],
        cwd=code,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"the GX suite run with {code} failed")
    result = json.loads(out.strip().splitlines()[-1])
    result["rss_mib"] = usage.ru_maxrss / 1024
    return result


def bench_gx_one_pass(size: int, workdir: Path) -> dict[str, object]:
    """Member suite on 3 × size rows, CPU-s (least of 3): built-in expectations only and
    the full suite, with main's code (972a509) and with the one-pass design (this tree)."""
    rows = size * 3
    with code_at({"before": BEFORE}, workdir) as codes:
        before = _child(codes["before"], rows, per_expectation=False)
    after = _child(ROOT, rows, per_expectation=True)
    if before["verdict"] != after["verdict"]:
        raise AssertionError("the verdicts differ between main's code and the one pass")
    n_full, n_builtin = after["expectations"]
    return {
        "rows": rows,
        "rules": f"{n_full} vs {n_builtin}",
        "main builtin_s": round(before["builtin_s"], 3),
        "main full_s": round(before["full_s"], 3),
        "main full_x_builtin": round(before["full_s"] / before["builtin_s"], 2),
        "new builtin_s": round(after["builtin_s"], 3),
        "new full_s": round(after["full_s"], 3),
        "new full_x_builtin": round(after["full_s"] / after["builtin_s"], 2),
        "new per-expectation full_s": round(after["per_expectation_s"], 3),
        "full main→new": round(after["full_s"] / before["full_s"], 2),
        "child peak RSS MiB main/new": f"{before['rss_mib']:.0f}/{after['rss_mib']:.0f}",
        "quarantined (equal)": after["verdict"][2],
    }
