"""A re-identification attack simulated on a publication, with the facts attached.

The adversary knows a target's true quasi-identifiers (e.g. birth year, gender,
branch, college, join year) and 0 to 3 facts about them (a meeting attended on a
date, a month of dues paid, a course taken). They look for the published persons
consistent with all of it: a published value is consistent with a true one when it
is that value or one of its generalisations on the configured ladder (``*``
always), and the person must carry every known fact in the published fact tables.

* **prosecutor** model — the adversary knows the target is in the publication: the
  target is *singled out* when exactly one published person is consistent.
* **journalist** model — the adversary holds a population record and does not know
  whether the target was published: singled out when exactly one published person
  is consistent *and* exactly one person of the population (every person before the
  gate, with their full facts) is consistent with that published record.

Targets and the facts each knows are drawn with a recorded seed; the share singled
out per number of facts is reported, and the caller refuses a publication above
its configured threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from anonymize.hierarchy import TOP, ladder_operator
from anonymize.operators import OperatorContext
from domain import FieldKind

__all__ = ["AttackReport", "FactLookup", "FrameFacts", "simulate_attack"]

_NONE = "\x00none"


@dataclass(slots=True)
class AttackReport:
    known: list[str]
    fact_kinds: list[str]
    seed: int
    targets: int
    threshold: float
    #: per number of known facts: targets with that many facts, singled out per model
    by_facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    threshold_without_facts: float = 0.0
    max_singled_out: float = 0.0
    singled_out_without_facts: float = 0.0
    refused: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def _variants(values: pd.Series, steps: Sequence[Any], column: str) -> list[pd.Series]:
    """The labels a true value may be published as: itself, each ladder step, ``*``."""
    text = values.astype("string").fillna(_NONE)
    out = [text, pd.Series(TOP, index=values.index, dtype="string")]
    ctx = OperatorContext(field=column, kind=FieldKind.QUASI_IDENTIFIER, frame=None)
    for step in steps:
        op = ladder_operator(step)
        if op.name == "suppress" or getattr(op.params, "to", None) == "top":
            continue
        result = op.apply(values.astype("string"), ctx)
        if result is not None:
            out.append(result.astype("string").fillna(_NONE))
    return out


def _interval_step(steps: Sequence[Any]) -> int | None:
    """The position of the ladder's interval step, if any."""
    for i, step in enumerate(steps):
        op = ladder_operator(step)
        if op.name == "generalise" and getattr(op.params, "to", None) == "interval":
            return i
    return None


def _before_interval(values: pd.Series, steps: Sequence[Any], column: str) -> pd.Series:
    """The true values as the gate saw them: through the step before the interval, if
    any (e.g. a birth date's year)."""
    i = _interval_step(steps)
    if not i:
        return values
    ctx = OperatorContext(field=column, kind=FieldKind.QUASI_IDENTIFIER, frame=None)
    out = ladder_operator(steps[i - 1]).apply(values.astype("string"), ctx)
    return values if out is None else out


def _spans(published: pd.Series, truth: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Published labels as [lo, hi] (``"2003-2007"``, ``"2005"``; NaN otherwise) and the
    true values as numbers (NaN where missing or not a number)."""
    text = published.astype("string").str.extract(r"^(\d+)(?:-(\d+))?$")
    lo = pd.to_numeric(text[0], errors="coerce")
    hi = pd.to_numeric(text[1], errors="coerce").fillna(lo)
    values = pd.to_numeric(truth.astype("string").str.extract(r"^(\d+)$")[0], errors="coerce")
    return (
        lo.to_numpy(dtype=float, na_value=np.nan),
        hi.to_numpy(dtype=float, na_value=np.nan),
        values.to_numpy(dtype=float, na_value=np.nan),
    )


class FactLookup(Protocol):
    """(person_key, fact) pairs an adversary may know, looked up rather than held: only
    the targets' facts and the persons holding those facts are ever needed."""

    def facts_of(self, person_keys: Sequence[str]) -> pd.DataFrame:
        """``person_key``, ``fact`` of these persons, each pair once, in the order of
        the pairs' first occurrence."""
        ...

    def holders(self, facts: Sequence[str]) -> pd.DataFrame:
        """``person_key``, ``fact``: every person holding one of ``facts``."""
        ...


class FrameFacts:
    """A :class:`FactLookup` over a frame of (``person_key``, ``fact``) rows."""

    def __init__(self, facts: pd.DataFrame) -> None:
        self._facts = facts[["person_key", "fact"]].dropna()

    def facts_of(self, person_keys: Sequence[str]) -> pd.DataFrame:
        mine = self._facts[self._facts["person_key"].isin(set(person_keys))]
        return mine.drop_duplicates(["person_key", "fact"])

    def holders(self, facts: Sequence[str]) -> pd.DataFrame:
        return self._facts[self._facts["fact"].isin(set(facts))]


def _fact_index(holders: pd.DataFrame, persons: pd.Index) -> dict[str, np.ndarray]:
    """fact → sorted positions of the persons carrying it (each once)."""
    pos = pd.Series(np.arange(len(persons)), index=persons)
    frame = holders.assign(p=holders["person_key"].map(pos)).dropna(subset=["p"])
    frame["p"] = frame["p"].astype(np.int64)
    return {f: np.unique(g.to_numpy()) for f, g in frame.groupby("fact", sort=False)["p"]}


def _targets_facts(
    lookup: FactLookup, pub: pd.DataFrame, chosen: np.ndarray
) -> dict[int, list[str]]:
    """Each chosen position's published facts, in the order of their first occurrence."""
    pairs = lookup.facts_of(pub["person_key"].to_numpy()[chosen].tolist())
    pos = pd.Series(np.arange(len(pub)), index=pub["person_key"])
    out: dict[int, list[str]] = {int(p): [] for p in chosen}
    for p, f in zip(pairs["person_key"].map(pos).to_numpy(), pairs["fact"].to_numpy(), strict=True):
        out[int(p)].append(f)
    return out


def _narrow(cands: np.ndarray | None, holders: np.ndarray) -> np.ndarray:
    """Candidates (sorted, distinct; None: everyone) that also carry a fact (``holders``,
    sorted, distinct): ``intersect1d(everyone, holders)`` is ``holders`` itself."""
    return holders if cands is None else np.intersect1d(cands, holders, True)


def simulate_attack(
    published: pd.DataFrame,
    population: pd.DataFrame,
    *,
    known: Sequence[str],
    published_facts: pd.DataFrame | FactLookup,
    population_facts: pd.DataFrame | FactLookup,
    ladders: Mapping[str, Sequence[Any]] | None = None,
    max_facts: int = 3,
    targets: int = 2000,
    seed: int = 0,
    threshold: float = 0.05,
    threshold_without_facts: float = 0.0,
    fact_kinds: Sequence[str] = (),
) -> AttackReport:
    """Simulate the attack; ``published``/``population``: ``person_key`` and the ``known``
    columns (published labels / true values); ``*_facts``: ``person_key`` and ``fact`` (a
    string naming one fact, e.g. ``attendance|<branch>|<date>``) — a frame, or a
    :class:`FactLookup` that finds them (only the targets' facts are looked up)."""
    ladders = ladders or {}
    pub = published.drop_duplicates("person_key").reset_index(drop=True)
    popu = population.drop_duplicates("person_key").reset_index(drop=True)
    vocab: dict[str, dict[str, int]] = {}
    pub_ids: dict[str, np.ndarray] = {}
    truth_ids: dict[str, np.ndarray] = {}
    for c in known:
        variants = _variants(popu[c], ladders.get(c, []), c)
        words = pd.concat([pub[c].astype("string").fillna(_NONE), *variants], ignore_index=True)
        codes, _ = pd.factorize(words)
        pub_ids[c] = codes[: len(pub)]
        truth_ids[c] = np.stack(
            [
                codes[len(pub) + i * len(popu) : len(pub) + (i + 1) * len(popu)]
                for i in range(len(variants))
            ],
            axis=1,
        )
        vocab[c] = {}
    # a data-driven interval ("2003-2007") is no ladder label: a true value is consistent
    # with any published interval that contains it
    spans = {
        c: _spans(pub[c], _before_interval(popu[c], ladders.get(c, []), c))
        for c in known
        if _interval_step(ladders.get(c, [])) is not None
    }
    if isinstance(published_facts, pd.DataFrame):
        published_facts = FrameFacts(published_facts)
    if isinstance(population_facts, pd.DataFrame):
        population_facts = FrameFacts(population_facts)
    pop_pos = pd.Series(np.arange(len(popu)), index=popu["person_key"])
    in_pop = pub["person_key"].isin(pop_pos.index).to_numpy()
    rng = np.random.default_rng(seed)
    eligible = np.flatnonzero(in_pop)
    chosen = rng.choice(eligible, size=min(targets, len(eligible)), replace=False)
    pub_per_person = _targets_facts(published_facts, pub, chosen)
    wanted = sorted({f for facts in pub_per_person.values() for f in facts})
    pub_index = _fact_index(published_facts.holders(wanted), pd.Index(pub["person_key"]))
    pop_index = _fact_index(population_facts.holders(wanted), pd.Index(popu["person_key"]))
    report = AttackReport(
        known=list(known),
        fact_kinds=list(fact_kinds),
        seed=seed,
        targets=len(chosen),
        threshold=threshold,
        threshold_without_facts=threshold_without_facts,
    )

    def consistent_pub(t_pop: int, cands: np.ndarray) -> np.ndarray:
        ok = np.ones(len(cands), dtype=bool)
        for c in known:
            same = (truth_ids[c][t_pop][:, None] == pub_ids[c][cands][None, :]).any(axis=0)
            if c in spans:
                lo, hi, truth = spans[c]
                same |= (lo[cands] <= truth[t_pop]) & (truth[t_pop] <= hi[cands])
            ok &= same
        return cands[ok]

    def consistent_pop(p_pub: int, cands: np.ndarray) -> np.ndarray:
        ok = np.ones(len(cands), dtype=bool)
        for c in known:
            same = (truth_ids[c][cands] == pub_ids[c][p_pub]).any(axis=1)
            if c in spans:
                lo, hi, truth = spans[c]
                same |= (lo[p_pub] <= truth[cands]) & (truth[cands] <= hi[p_pub])
            ok &= same
        return cands[ok]

    everyone_pub = np.arange(len(pub))
    everyone_pop = np.arange(len(popu))
    for m in range(0, max_facts + 1):
        tried = pros = journ = 0
        sample = chosen if m else chosen[: min(len(chosen), 200)]
        for t in sample:
            facts = pub_per_person[t]
            if len(facts) < m:
                continue
            t_pop = int(pop_pos[pub.at[t, "person_key"]])
            picked = [facts[i] for i in rng.choice(len(facts), size=m, replace=False)]
            cands: np.ndarray | None = None
            pcands: np.ndarray | None = None
            for f in picked:
                cands = _narrow(cands, pub_index.get(f, everyone_pub[:0]))
                pcands = _narrow(pcands, pop_index.get(f, everyone_pop[:0]))
            cands = everyone_pub if cands is None else cands
            pcands = everyone_pop if pcands is None else pcands
            found = consistent_pub(t_pop, cands)
            tried += 1
            if len(found) == 1:
                pros += 1
                if len(consistent_pop(int(found[0]), pcands)) == 1:
                    journ += 1
        report.by_facts[str(m)] = {
            "targets": tried,
            "prosecutor_singled_out": round(pros / tried, 6) if tried else None,
            "journalist_singled_out": round(journ / tried, 6) if tried else None,
        }
    shares = [
        v[key]
        for m, v in report.by_facts.items()
        for key in ("prosecutor_singled_out", "journalist_singled_out")
        if v[key] is not None and m != "0"
    ]
    report.max_singled_out = max(shares, default=0.0)
    report.singled_out_without_facts = float(report.by_facts["0"]["prosecutor_singled_out"] or 0)
    report.refused = (
        report.max_singled_out > threshold
        or report.singled_out_without_facts > threshold_without_facts
    )
    return report
