"""Generated Latin-alphabet person records for the linkage benchmark (no real people).

Faker ``en_US`` and ``en_AU`` supply name, street, suburb/city and postcode pools; people
are drawn from the pools with a date of birth, then every copy of a person is corrupted
the way hand-keyed records are: one-letter typos (substitution, insertion, deletion),
adjacent transpositions, day/month swaps, missing values, and an occasional nickname-like
truncation. Two tasks:

* :func:`two_files` — A and B with ``overlap`` of the people in both (the truth is the
  ``person`` column);
* :func:`one_file_with_duplicates` — one table in which ``dup_share`` of the people
  appear two to four times.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "FIELDS",
    "one_file_with_duplicates",
    "people",
    "two_files",
    "university_people",
    "university_two_files",
    "university_with_duplicates",
]

FIELDS = ("first_name", "last_name", "dob", "street", "suburb", "postcode")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_NEIGHBOURS = {  # a few keyboard neighbours for realistic substitutions
    c: n
    for c, n in zip(
        "qwertyuiopasdfghjklzxcvbnm",
        [
            "wa",
            "qes",
            "wrd",
            "etf",
            "ryg",
            "tuh",
            "yij",
            "uok",
            "ipl",
            "ol",
            "qsz",
            "awdx",
            "sefc",
            "drgv",
            "fthb",
            "gyjn",
            "hukm",
            "jil",
            "kop",
            "asx",
            "zdc",
            "xfv",
            "cgb",
            "vhn",
            "bjm",
            "nk",
        ],
        strict=True,
    )
}


def _pools(seed: int) -> dict[str, list[str]]:
    import json
    from pathlib import Path

    from faker import Faker

    cache = Path(__file__).with_name("out") / f"linkage_pools_{seed}.json"
    if cache.is_file():
        return json.loads(cache.read_text(encoding="utf-8"))
    pools: dict[str, list[str]] = {"first": [], "last": [], "street": [], "place": []}
    for locale in ("en_US", "en_AU"):
        fake = Faker(locale)
        fake.seed_instance(seed)
        pools["first"] += [fake.first_name() for _ in range(4000)]
        pools["last"] += [fake.last_name() for _ in range(4000)]
        pools["street"] += [fake.street_address() for _ in range(30_000)]
        pools["place"] += [f"{fake.city()}|{fake.postcode()}" for _ in range(4000)]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(pools), encoding="utf-8")
    return pools


def people(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` distinct generated people, clean."""
    rng = np.random.default_rng(seed)
    pools = _pools(seed)
    pick = {k: np.array(v, dtype=object)[rng.integers(0, len(v), n)] for k, v in pools.items()}
    days = rng.integers(0, 68 * 365, n)
    dob = pd.Timestamp("1940-01-01") + pd.to_timedelta(days, unit="D")
    places = pd.Series(pick["place"]).str.split("|", expand=True)
    return pd.DataFrame(
        {
            "person": np.arange(n),
            "first_name": pick["first"],
            "last_name": pick["last"],
            "dob": dob.strftime("%Y-%m-%d"),
            "street": pick["street"],
            "suburb": places[0].to_numpy(),
            "postcode": places[1].to_numpy(),
        }
    )


def _typo(value: str, rng: np.random.Generator) -> str:
    if len(value) < 2:
        return value
    pos = int(rng.integers(0, len(value)))
    kind = rng.random()
    if kind < 0.35:
        c = value[pos].lower()
        sub = _NEIGHBOURS.get(c, _LETTERS)[int(rng.integers(0, len(_NEIGHBOURS.get(c, _LETTERS))))]
        return value[:pos] + sub + value[pos + 1 :]
    if kind < 0.55:
        return value[:pos] + value[pos + 1 :]
    if kind < 0.75:
        return value[:pos] + _LETTERS[int(rng.integers(0, 26))] + value[pos:]
    pos = min(pos, len(value) - 2)  # transposition of neighbours
    return value[:pos] + value[pos + 1] + value[pos] + value[pos + 2 :]


def _digit_typo(value: str, rng: np.random.Generator) -> str:
    digits = [i for i, c in enumerate(value) if c.isdigit()]
    if not digits:
        return value
    if rng.random() < 0.5 and len(digits) > 1:  # transpose two neighbouring digits
        k = int(rng.integers(0, len(digits) - 1))
        a, b = digits[k], digits[k + 1]
        chars = list(value)
        chars[a], chars[b] = chars[b], chars[a]
        return "".join(chars)
    a = digits[int(rng.integers(0, len(digits)))]
    return value[:a] + str(int(rng.integers(0, 10))) + value[a + 1 :]


def corrupt(frame: pd.DataFrame, rng: np.random.Generator, rate: float = 0.12) -> pd.DataFrame:
    """A corrupted copy: per field a typo with probability ``rate``, missing with ``rate/3``."""
    out = frame.copy()
    for column in FIELDS:
        values = out[column].to_numpy(dtype=object).copy()
        draw = rng.random(len(values))
        for row in np.nonzero(draw < rate)[0]:
            value = values[row]
            if column == "dob":
                if rng.random() < 0.3:  # day/month swapped where both could be a month
                    y, m, d = value.split("-")
                    values[row] = f"{y}-{d}-{m}" if int(d) <= 12 else _digit_typo(value, rng)
                else:
                    values[row] = _digit_typo(value, rng)
            elif column == "postcode":
                values[row] = _digit_typo(value, rng)
            elif column == "first_name" and rng.random() < 0.15 and len(value) > 4:
                values[row] = value[: int(rng.integers(3, len(value)))]  # a short form
            else:
                values[row] = _typo(value, rng)
        missing = (draw >= rate) & (draw < rate + rate / 3)
        if column in ("first_name", "last_name"):
            missing &= rng.random(len(values)) < 0.3  # names are rarely left out
        values[missing] = None
        out[column] = values
    return out


def two_files(n: int, overlap: float = 0.8, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Files A and B of ``n`` records each; ``overlap`` of A's people are also in B."""
    rng = np.random.default_rng(seed + 1)
    both = int(n * overlap)
    pool = people(2 * n - both, seed)
    a = pool.iloc[:n]
    b = pd.concat([pool.iloc[:both], pool.iloc[n:]], ignore_index=True)
    a = corrupt(a.reset_index(drop=True), rng).sample(frac=1.0, random_state=seed)
    b = corrupt(b, rng).sample(frac=1.0, random_state=seed + 1)
    a.insert(0, "id", [f"A{k}" for k in range(len(a))])
    b.insert(0, "id", [f"B{k}" for k in range(len(b))])
    return a.reset_index(drop=True), b.reset_index(drop=True)


def one_file_with_duplicates(n: int, dup_share: float = 0.3, seed: int = 7) -> pd.DataFrame:
    """About ``n`` records; ``dup_share`` of the people appear 2–4 times (each copy corrupted)."""
    rng = np.random.default_rng(seed + 2)
    base = int(n / (1 + dup_share * 2))
    pool = people(base, seed)
    extra = rng.integers(1, 4, base) * (rng.random(base) < dup_share)
    copies = pool.loc[np.repeat(pool.index, 1 + extra)].reset_index(drop=True)
    out = corrupt(copies, rng).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    out.insert(0, "id", [f"R{k}" for k in range(len(out))])
    return out


def university_people(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` people of the synthetic university (Chinese names, birth dates, mobiles, units)."""
    from datetime import date

    from islandbridge.synth.people import UNITS, build_population
    from islandbridge.synth.vocab import build_name_pools

    pop = build_population(
        np.random.default_rng(seed), build_name_pools(seed), n, date(2026, 6, 30)
    )
    frame = pd.DataFrame(
        {
            "person": np.arange(pop.n),
            "name": pop.name,
            "birth": pd.to_datetime(pop.birth).strftime("%Y-%m-%d"),
            "mobile": pop.mobile,
            "unit": np.array([u.name for u in UNITS], dtype=object)[pop.unit],
        }
    )
    return frame.iloc[:n].reset_index(drop=True) if len(frame) > n else frame


def corrupt_university(
    frame: pd.DataFrame, rng: np.random.Generator, rate: float = 0.1
) -> pd.DataFrame:
    """Homophone typos in names, digit typos in dates and mobiles, missing mobiles/units."""
    from islandbridge.synth.pollution import homophone_typo

    out = frame.copy()
    names = out["name"].to_numpy(dtype=object).copy()
    for row in np.nonzero(rng.random(len(names)) < rate)[0]:
        names[row] = homophone_typo(names[row]) or names[row]
    out["name"] = names
    for column in ("birth", "mobile"):
        values = out[column].to_numpy(dtype=object).copy()
        for row in np.nonzero(rng.random(len(values)) < rate / 2)[0]:
            values[row] = _digit_typo(values[row], rng)
        out[column] = values
    for column, share in (("mobile", rate), ("unit", rate / 2)):
        values = out[column].to_numpy(dtype=object).copy()
        values[rng.random(len(values)) < share] = None
        out[column] = values
    return out


def university_two_files(
    n: int, overlap: float = 0.8, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two department files of the synthetic university; ``overlap`` of A's people in B."""
    rng = np.random.default_rng(seed + 3)
    both = int(n * overlap)
    pool = university_people(2 * n - both, seed)
    a = corrupt_university(pool.iloc[:n].reset_index(drop=True), rng)
    b = corrupt_university(pd.concat([pool.iloc[:both], pool.iloc[n:]], ignore_index=True), rng)
    a = a.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    b = b.sample(frac=1.0, random_state=seed + 1).reset_index(drop=True)
    a.insert(0, "id", [f"A{k}" for k in range(len(a))])
    b.insert(0, "id", [f"B{k}" for k in range(len(b))])
    return a, b


def university_with_duplicates(n: int, dup_share: float = 0.3, seed: int = 7) -> pd.DataFrame:
    """One department file of about ``n`` rows with ``dup_share`` of people 2–4 times."""
    rng = np.random.default_rng(seed + 4)
    base = int(n / (1 + dup_share * 2))
    pool = university_people(base, seed)
    extra = rng.integers(1, 4, len(pool)) * (rng.random(len(pool)) < dup_share)
    copies = pool.loc[np.repeat(pool.index, 1 + extra)].reset_index(drop=True)
    out = corrupt_university(copies, rng).sample(frac=1.0, random_state=seed)
    out = out.reset_index(drop=True)
    out.insert(0, "id", [f"R{k}" for k in range(len(out))])
    return out
