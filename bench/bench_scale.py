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

import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["BASELINE", "baseline_module", "bench_scale"]

#: main before issue 13's work
BASELINE = "1c7795e"
ROOT = Path(__file__).resolve().parents[1]


def baseline_module(path: str) -> types.ModuleType:
    """The module at ``path`` as it was at ``BASELINE``, loaded as ``baseline.<name>``
    (operators it registers are not registered again)."""
    import anonymize.operators.registry as registry

    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{BASELINE}:{path}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    name = "baseline." + path.removesuffix(".py").replace("/", ".")
    module = types.ModuleType(name)
    module.__file__ = f"{BASELINE}:{path}"
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


def bench_scale(size: int, workdir: Path) -> dict[str, object]:
    """Issue 13's hot paths beside the code they replaced (commit 1c7795e), CPU seconds."""
    return {**_clk(size), **_vault(size, workdir), **_text_steps(size)}
