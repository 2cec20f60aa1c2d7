"""Field policies: what is done to every canonical field before anything is shared.

The policy is one YAML file validated into typed models on load, so a typo fails
before any run, naming the field. Default deny: a field with no policy is not
published (see :func:`anonymize.pseudonymise.pseudonymise_frame`).

Shape::

    version: 1
    defaults:                       # for every entity that has the field
      id_number: {operator: hmac_token}
      student_no: {operator: hmac_token, params: {domain: person_no}}
    entities:
      member:
        fields:
          birth_date: {operator: generalise, params: {to: month}}
        gate:                       # privacy gate for the table published at person level
          k: 5
          l: 2
          quasi_identifiers: [gender, birth_date, college]
          sensitive: [status]
          ladders:
            birth_date: [{operator: generalise, params: {to: year}}]

A policy may treat a field more strictly than the canonical schema does (a plain
field as a quasi-identifier, anything as a direct identifier), never less.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from anonymize.errors import PolicyError
from anonymize.operators import Operator, build_operator
from domain import ENTITIES, FieldKind

__all__ = [
    "AttackConfig",
    "EntityPolicy",
    "FieldPolicy",
    "GateConfig",
    "OperatorSpec",
    "PrivacyPolicy",
    "StatisticsConfig",
    "load_policy",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OperatorSpec(_Strict):
    """An operator by name with its parameters (validated against the registry)."""

    operator: str
    params: dict[str, Any] = Field(default_factory=dict)
    _built: Operator | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build(self) -> OperatorSpec:
        try:
            self._built = build_operator(self.operator, self.params)
        except PolicyError as exc:  # let pydantic name where in the file it happened
            raise ValueError(exc.problem) from None
        return self

    def build(self) -> Operator:
        assert self._built is not None
        return self._built


class FieldPolicy(OperatorSpec):
    """The treatment of one field: its kind (default: the canonical kind), its operator,
    and optionally further operators publishing more columns of the same field (``also``:
    e.g. a ``name`` both as an ``hmac_token`` and as a ``clk_bloom`` encoding)."""

    kind: FieldKind | None = None
    note: str | None = None
    also: list[OperatorSpec] = Field(default_factory=list)

    def operators(self) -> list[Operator]:
        """Every operator of the field: the main one first, then ``also`` in order."""
        return [self.build(), *(spec.build() for spec in self.also)]


class AttackConfig(_Strict):
    """The re-identification attack simulation: adversaries who know a person's
    quasi-identifiers plus 1 to ``max_facts`` facts of theirs."""

    #: published person-level columns the adversary knows of a target (true values)
    known: list[str]
    #: kinds of facts the adversary may know: attendance (a meeting attended on a date),
    #: dues (a month paid), course (a course taken)
    facts: list[Literal["attendance", "dues", "course"]] = Field(
        default_factory=lambda: ["attendance", "dues", "course"]
    )
    max_facts: int = Field(default=3, ge=1, le=3)
    #: targets drawn (all published persons when fewer)
    targets: int = Field(default=2000, ge=1)
    #: draw of targets and of the facts each knows (not a secret: the attack is an audit)
    seed: int = 20260630
    #: publication refused when more than this share of targets is singled out with 1 to
    #: ``max_facts`` facts (either model) ...
    max_singled_out: float = Field(default=0.05, ge=0.0, le=1.0)
    #: ... or more than this share by their quasi-identifiers alone
    max_singled_out_without_facts: float = Field(default=0.0, ge=0.0, le=1.0)


class StatisticsConfig(_Strict):
    """The statistics tier: small-cell suppression by default, differential privacy
    (OpenDP) when the steward sets a budget."""

    threshold: int = Field(default=5, ge=2)
    #: total privacy-loss budget of the statistics tier; None: suppression instead
    epsilon: float | None = Field(default=None, gt=0.0)
    #: attendance records counted per person at most (the sensitivity of record counts)
    max_records_per_person: int = Field(default=60, ge=1)


class UtilityTarget(_Strict):
    """A share of the persons who have a QI's value to publish at ``level`` or finer."""

    level: str
    share: float = Field(ge=0.0, le=1.0)
    #: a nested QI targeted at its value (``branch_id``): the classes keeping both targets
    #: are chosen together and exactly (:mod:`anonymize.cover`); needs an interval step
    within: str | None = None


class GateConfig(_Strict):
    """k-anonymity / l-diversity settings of one table published at person level."""

    k: int = Field(default=5, ge=2)
    l: int = Field(default=2, ge=1)  # noqa: E741 - the literature's name
    quasi_identifiers: list[str]
    sensitive: list[str] = Field(default_factory=list)
    ladders: dict[str, list[OperatorSpec]] = Field(default_factory=dict)
    max_suppression_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    #: "datafly": whole columns up their ladders (the former gate); "local": Mondrian local
    #: recoding with the global recoding of the same ladders computed beside as a baseline
    method: Literal["datafly", "local"] = "datafly"
    #: QI → parent column it nests under (branch_id → college): its first step up
    nested: dict[str, str] = Field(default_factory=dict)
    #: QI → weight in the search's loss (default 1)
    weights: dict[str, float] = Field(default_factory=dict)
    #: loss the local search minimises: "ncp" or "intensity" (each ladder step costs the same)
    metric: Literal["ncp", "intensity"] = "ncp"
    #: QI → the loss of each ladder level (value … *), replacing the metric's for that QI
    level_loss: dict[str, list[float]] = Field(default_factory=dict)
    #: QI → {level: <ladder level name>, share: 0..1}: the utility the local search aims at
    #: (rows missing it are regrouped where the others allow); reported met or not
    utility_targets: dict[str, UtilityTarget] = Field(default_factory=dict)
    #: QI derived by the person table → the canonical field it is derived from
    derived: dict[str, str] = Field(default_factory=dict)
    #: the re-identification attack run on every publication (None: not run)
    attack: AttackConfig | None = None

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the gate: :func:`anonymize.enforce_k_anonymity`
        ("datafly") or :func:`anonymize.recode_locally` ("local")."""
        if self.method == "local":
            return {
                "method": "local",
                "quasi_identifiers": list(self.quasi_identifiers),
                "k": self.k,
                "ladders": {f: list(steps) for f, steps in self.ladders.items()},
                "sensitive": list(self.sensitive),
                "l": self.l,
                "max_suppression_rate": self.max_suppression_rate,
                "nested": dict(self.nested),
                "weights": dict(self.weights),
                "metric": self.metric,
                "level_loss": {q: list(v) for q, v in self.level_loss.items()},
                "targets": {q: t.model_dump() for q, t in self.utility_targets.items()},
            }
        return {
            "quasi_identifiers": list(self.quasi_identifiers),
            "k": self.k,
            "ladders": {f: list(steps) for f, steps in self.ladders.items()},
            "sensitive": list(self.sensitive),
            "l": self.l,
            "max_suppression_rate": self.max_suppression_rate,
        }


class EntityPolicy(_Strict):
    fields: dict[str, FieldPolicy] = Field(default_factory=dict)
    gate: GateConfig | None = None


def _kind_allowed(declared: FieldKind, canonical: FieldKind) -> bool:
    return (
        declared == canonical
        or canonical == FieldKind.PLAIN
        or declared == FieldKind.DIRECT_IDENTIFIER
    )


class PrivacyPolicy(_Strict):
    version: int = 1
    defaults: dict[str, FieldPolicy] = Field(default_factory=dict)
    entities: dict[str, EntityPolicy] = Field(default_factory=dict)
    statistics: StatisticsConfig | None = None

    @model_validator(mode="after")
    def _check_against_canonical(self) -> PrivacyPolicy:
        known_fields = {f for e in ENTITIES.values() for f in e.field_names}
        for name in self.defaults:
            if name not in known_fields:
                raise ValueError(f"defaults.{name}: no canonical entity has a field {name!r}")
        for ent_name, ent_policy in self.entities.items():
            if ent_name not in ENTITIES:
                raise ValueError(f"entities.{ent_name}: unknown entity; known: {sorted(ENTITIES)}")
            ent = ENTITIES[ent_name]
            for name in ent_policy.fields:
                if name not in ent.field_names:
                    raise ValueError(
                        f"entities.{ent_name}.fields.{name}: entity {ent_name!r} has no field "
                        f"{name!r}; known: {list(ent.field_names)}"
                    )
        for ent_name, ent in ENTITIES.items():
            for fld in ent.fields:
                fp = self.field_policy(ent_name, fld.name)
                if fp is None:
                    continue
                where = f"{ent_name}.{fld.name}"
                kind = fp.kind or fld.kind
                if not _kind_allowed(kind, fld.kind):
                    raise ValueError(
                        f"{where}: the policy says {kind.value} but the field is a "
                        f"{fld.kind.value}; a policy may be stricter, never laxer"
                    )
                outputs = set()
                for op in fp.operators():
                    if kind not in op.allowed_kinds:
                        raise ValueError(
                            f"{where}: operator {op.name} is not allowed on a {kind.value}"
                        )
                    if op.output_name(fld.name) in outputs:
                        raise ValueError(
                            f"{where}: two operators publish {op.output_name(fld.name)}"
                        )
                    outputs.add(op.output_name(fld.name))
            gate = self.entities.get(ent_name, EntityPolicy()).gate
            if gate is not None:
                self._check_gate(ent_name, gate)
        return self

    def _check_gate(self, ent_name: str, gate: GateConfig) -> None:
        where = f"entities.{ent_name}.gate"
        for name, source in gate.derived.items():
            if source not in ENTITIES[ent_name].field_names:
                raise ValueError(f"{where}.derived.{name}: {source} is not a field of {ent_name}")
        for name in gate.quasi_identifiers:
            if name in gate.derived:
                continue
            if self.kind_of(ent_name, name) != FieldKind.QUASI_IDENTIFIER:
                raise ValueError(
                    f"{where}.quasi_identifiers: {name} is not a quasi-identifier of {ent_name}"
                )
        for name in gate.sensitive:
            if self.kind_of(ent_name, name) != FieldKind.SENSITIVE:
                raise ValueError(
                    f"{where}.sensitive: {name} is not a sensitive field of {ent_name}"
                )
        for child, parent in gate.nested.items():
            if child not in gate.quasi_identifiers:
                raise ValueError(f"{where}.nested.{child}: only a quasi-identifier can nest")
            if self.kind_of(ent_name, parent) is None:
                raise ValueError(f"{where}.nested.{child}: {parent} is not a field of {ent_name}")
        for name in gate.weights:
            if name not in gate.quasi_identifiers:
                raise ValueError(f"{where}.weights.{name}: a weight needs a quasi-identifier")
        for name, values in gate.level_loss.items():
            if name not in gate.quasi_identifiers:
                raise ValueError(f"{where}.level_loss.{name}: needs a quasi-identifier")
            if values[:1] != [0] or values[-1:] != [1] or values != sorted(values):
                raise ValueError(
                    f"{where}.level_loss.{name}: from 0 (the value) rising to 1 (*) expected"
                )
        for name, target in gate.utility_targets.items():
            if name not in gate.quasi_identifiers:
                raise ValueError(f"{where}.utility_targets.{name}: needs a quasi-identifier")
            if target.within is not None and (
                target.within not in gate.nested or target.within not in gate.utility_targets
            ):
                raise ValueError(
                    f"{where}.utility_targets.{name}.within: needs a nested quasi-identifier "
                    "with a utility target"
                )
        for name in gate.ladders:
            if name not in gate.quasi_identifiers and name not in gate.nested.values():
                raise ValueError(f"{where}.ladders.{name}: a ladder needs a quasi-identifier")

    # -- queries ------------------------------------------------------------------------
    def field_policy(self, entity: str, field: str) -> FieldPolicy | None:
        """The entity's own policy of the field, else the default one, else ``None``."""
        ent = self.entities.get(entity)
        if ent is not None and field in ent.fields:
            return ent.fields[field]
        if field in ENTITIES[entity].field_names:
            return self.defaults.get(field)
        return None

    def kind_of(self, entity: str, field: str) -> FieldKind | None:
        """The effective kind of a field: the policy's, else the canonical one."""
        ent = ENTITIES[entity]
        if field not in ent.field_names:
            return None
        fp = self.field_policy(entity, field)
        return (fp.kind if fp and fp.kind else None) or ent.field(field).kind

    def gate(self, entity: str) -> GateConfig | None:
        ent = self.entities.get(entity)
        return ent.gate if ent else None

    def unpoliced(self, entity: str) -> list[str]:
        """Canonical fields of the entity with no policy (they are not published)."""
        return [f for f in ENTITIES[entity].field_names if self.field_policy(entity, f) is None]


def _format_errors(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def parse_policy(document: Any, *, source: str = "policy") -> PrivacyPolicy:
    """Validate a policy document (already parsed YAML)."""
    try:
        return PrivacyPolicy.model_validate(document)
    except ValidationError as exc:
        raise PolicyError(f"{source}: {_format_errors(exc)}") from None


def load_policy(path: Path) -> PrivacyPolicy:
    """Load and validate the privacy policy YAML; any problem raises :class:`PolicyError`."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"policy {path} cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:  # its text may quote the file: name the place only
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise PolicyError(
            f"policy {path} is not valid YAML{where} ({type(exc).__name__})"
        ) from None
    return parse_policy(document, source=str(path))
