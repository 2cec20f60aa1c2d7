"""YAML validated against a model, every problem located at ``file:line:column``.

Pydantic names a problem by its path in the document (``('sources', 3, 'departmnet')``);
a steward needs the line of the file, the source's name and, for a misspelt key, the key
that was meant. :func:`validate_yaml` composes the file with ``yaml.compose`` (whose
nodes carry marks), validates the data, and maps each error's ``loc`` back to the node
it names: an unknown key to the key itself, a wrong value to the value, a missing key to
the mapping that lacks it. Unknown keys, union tags and literals get a did-you-mean from
the model's own field names (aliases included). Duplicate keys, which ``safe_load``
silently collapses to the last, are reported too.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, Union

import yaml
from pydantic import BaseModel, ValidationError

__all__ = ["LocatedProblem", "YamlPositions", "located_errors", "validate_yaml"]

#: libyaml's loader where PyYAML was built with it (marks included), else the pure one
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class LocatedProblem:
    """One problem of a configuration file, where it is and what to do."""

    file: Path
    line: int | None  # 1-based
    column: int | None  # 1-based
    message: str
    source: str | None = None

    @property
    def where(self) -> str:
        if self.line is None:
            return str(self.file)
        return f"{self.file}:{self.line}:{self.column or 1}"

    def __str__(self) -> str:
        named = f"source {self.source!r}: " if self.source else ""
        return f"{self.where}: {named}{self.message}"


# -- the YAML node tree ---------------------------------------------------------------------


def _pairs(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    """A mapping's own pairs, then those merged in with ``<<`` (YAML merge keys)."""
    own = [(k, v) for k, v in node.value if k.value != "<<"]
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in node.value:
        if key.value != "<<":
            continue
        for part in value.value if isinstance(value, yaml.SequenceNode) else [value]:
            if isinstance(part, yaml.MappingNode):
                merged += _pairs(part)
    return own + merged


def _child(node: yaml.Node, part: object) -> tuple[yaml.Node | None, yaml.Node | None]:
    """(value node, key node) of ``part`` in ``node``; (None, None) where it has none."""
    if isinstance(node, yaml.MappingNode):
        for key, value in _pairs(node):
            if key.value == str(part):
                return value, key
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return node.value[part], None
    return None, None


def _node_for(root: yaml.Node | None, loc: Sequence[object], *, key: bool) -> yaml.Node | None:
    """The node ``loc`` names; with ``key``, the key node of its last part (an unknown key
    is reported where it is written). Parts the document lacks (union tags, a missing key)
    are skipped: the deepest node found is returned."""
    node, found = root, root
    for i, part in enumerate(loc):
        if node is None:
            break
        value, key_node = _child(node, part)
        if value is None:
            continue  # a union tag (e.g. the rule kind) or a key that is missing
        last = i == len(loc) - 1
        found = key_node if (key and last and key_node is not None) else value
        node = value
    return found


def _duplicate_keys(node: yaml.Node | None, out: list[yaml.Node]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                if key.value in seen:
                    out.append(key)
                seen.add(key.value)
            _duplicate_keys(value, out)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _duplicate_keys(item, out)


# -- the model's known keys -------------------------------------------------------------------


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _members(tp: Any) -> list[Any]:
    tp = _unwrap(tp)
    if typing.get_origin(tp) in (Union, types.UnionType):
        return [_unwrap(a) for a in typing.get_args(tp) if a is not type(None)]
    return [tp]


def _field_names(model: type[BaseModel]) -> dict[str, Any]:
    """Key as written in YAML (alias, else name) → its annotation."""
    return {(f.alias or name): f.annotation for name, f in model.model_fields.items()}


def _tag_of(model: type[BaseModel], part: object) -> bool:
    for info in model.model_fields.values():
        args = typing.get_args(_unwrap(info.annotation))
        if typing.get_origin(_unwrap(info.annotation)) is typing.Literal and part in args:
            return True
    return False


def _model_at(root: type[BaseModel], loc: Sequence[object]) -> type[BaseModel] | None:
    """The model class whose keys ``loc`` addresses, following lists, dicts and unions."""
    tp: Any = root
    for part in loc:
        candidates = _members(tp)
        models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        chosen = None
        for model in models:
            names = _field_names(model)
            if isinstance(part, str) and part in names:
                chosen = names[part]
                break
        if chosen is not None:
            tp = chosen
            continue
        tagged = [m for m in models if m.__name__ == part or _tag_of(m, part)]
        if tagged:
            tp = tagged[0]
            continue
        containers = [c for c in candidates if typing.get_origin(c) in (list, dict, tuple)]
        if not containers:
            return None
        args = typing.get_args(containers[0])
        tp = args[-1] if typing.get_origin(containers[0]) is dict else args[0]
    models = [c for c in _members(tp) if isinstance(c, type) and issubclass(c, BaseModel)]
    return models[0] if len(models) == 1 else None


def _did_you_mean(word: object, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else ""


# -- errors -----------------------------------------------------------------------------------


def _source_name(data: Any, loc: Sequence[object]) -> str | None:
    """The configured name of the source ``loc`` lies in (``sources[i]``), if any."""
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        sources = data.get("sources") if isinstance(data, dict) else None
        if isinstance(sources, list) and 0 <= loc[1] < len(sources):
            item = sources[loc[1]]
            if isinstance(item, dict) and item.get("name"):
                return str(item["name"])
            return f"#{loc[1] + 1} (unnamed)"
    return None


def _dotted(loc: Sequence[object], data: Any) -> str:
    """``retention.landing``, ``entities.member.rules[4]``; a source's part after its name."""
    parts = list(loc)
    if _source_name(data, loc) is not None:
        parts = parts[2:]
    text = ""
    for part in parts:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _choices(text: object) -> list[str]:
    """``'a', 'b' or 'c'`` (pydantic's list of expected values) → ``[a, b, c]``."""
    flat = str(text).replace(" or ", ",")
    return [c.strip(" '") for c in flat.split(",") if c.strip(" '")]


def _message(error: dict[str, Any], model: type[BaseModel], data: Any) -> str:
    loc, kind = tuple(error["loc"]), error["type"]
    text = str(error["msg"]).removeprefix("Value error, ")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        known = _model_at(model, loc[:-1])
        names = sorted(_field_names(known)) if known else []
        hint = _did_you_mean(loc[-1], names)
        listed = f" (known: {', '.join(names)})" if names and not hint else ""
        where = _dotted(loc[:-1], data)
        return f"{where + ': ' if where else ''}unknown key {loc[-1]!r}{hint}{listed}"
    where = _dotted(loc, data)
    prefix = f"{where}: " if where else ""
    if kind == "missing":
        where = _dotted(loc[:-1], data)
        return f"{where + ': ' if where else ''}missing required key {loc[-1]!r}"
    if kind == "union_tag_invalid":
        tags, tag = _choices(ctx.get("expected_tags", "")), ctx.get("tag", "")
        hint = _did_you_mean(tag, tags)
        known = "" if hint else f" (known: {', '.join(tags)})"
        kind_name = str(ctx.get("discriminator", "kind")).strip("'")
        return f"{prefix}{kind_name} {tag!r} is not known{hint}{known}"
    if kind == "literal_error":
        hint = _did_you_mean(error.get("input", ""), _choices(ctx.get("expected", "")))
        return f"{prefix}{text}{hint}"
    wrong = "wrong type: " if kind.endswith(("_type", "_parsing")) else ""
    return f"{prefix}{wrong}{text}"


def _at(path: Path, node: yaml.Node | None) -> tuple[Path, int | None, int | None]:
    if node is None:
        return path, None, None
    return path, node.start_mark.line + 1, node.start_mark.column + 1


def located_errors(
    path: Path, data: Any, root: yaml.Node | None, exc: ValidationError, model: type[BaseModel]
) -> list[LocatedProblem]:
    """Each of ``exc``'s errors at its line in ``path`` (``root``: the composed document)."""
    out = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        node = _node_for(root, loc, key=error["type"] == "extra_forbidden")
        out.append(
            LocatedProblem(*_at(path, node), _message(error, model, data), _source_name(data, loc))
        )
    return out


def validate_yaml(path: Path, model: type[M]) -> tuple[M | None, list[LocatedProblem]]:
    """Read ``path`` and validate it as ``model``: the instance (None on any problem) and
    every problem found, located. Never raises for a bad file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [LocatedProblem(path, None, None, "file not found")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [LocatedProblem(path, None, None, f"cannot be read ({type(exc).__name__})")]
    try:
        root = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        return None, [LocatedProblem(path, line, column, f"not valid YAML: {exc.problem}")]
    except yaml.YAMLError as exc:
        return None, [LocatedProblem(path, None, None, f"not valid YAML ({type(exc).__name__})")]
    dupes: list[yaml.Node] = []
    _duplicate_keys(root, dupes)
    problems = [
        LocatedProblem(*_at(path, k), f"key {k.value!r} appears twice in this mapping")
        for k in dupes
    ]
    try:
        instance = model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        return None, problems + located_errors(path, data, root, exc, model)
    return (None if problems else instance), problems


class YamlPositions:
    """Where settings are written in a YAML file: ``at(("keys", "file"))`` is
    ``file:line:column`` of that setting (the file alone where it is not written, e.g. a
    default). Never raises: an unreadable file has no positions."""

    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path else None
        self._root: yaml.Node | None = None
        self._data: Any = None
        if self.path is None:
            return
        try:
            text = self.path.read_text(encoding="utf-8")
            self._root = yaml.compose(text, Loader=_LOADER)
            self._data = yaml.load(text, Loader=_LOADER)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            self._root = None

    def at(self, loc: Sequence[object], *, nearest: bool = False) -> str:
        """Where ``loc`` is written; with ``nearest``, where its deepest written part is
        (a source's line for a setting it leaves at the default)."""
        if self.path is None:
            return ""
        node = self._node(loc, nearest=nearest)
        path, line, column = _at(self.path, node)
        return str(path) if line is None else f"{path}:{line}:{column}"

    def _node(self, loc: Sequence[object], *, nearest: bool) -> yaml.Node | None:
        node, deepest = self._root, None
        for part in loc:
            if node is None:
                break
            node, _ = _child(node, part)
            deepest = node or deepest
        return node if not nearest else (node or deepest)

    def source_index(self, name: str) -> int | None:
        """The position of source ``name`` in ``sources``."""
        sources = self._data.get("sources") if isinstance(self._data, dict) else None
        for i, item in enumerate(sources if isinstance(sources, list) else []):
            if isinstance(item, dict) and item.get("name") == name:
                return i
        return None
