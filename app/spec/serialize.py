"""JSON form of an ArchSpec, and its strict reader.

The reader walks the dataclass type hints, so it knows every field's type without a
second schema to keep in sync. A document that is not a spec is reported in full:
every wrong field by its path, then the structural rules of `validation`.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from functools import cache
from typing import Any, Literal, Union

from .arch import SPEC_SCHEMA, ArchSpec
from .errors import Problem, SpecError
from .limits import MAX_LAYERS, MAX_NESTING, brief, nested_too_deeply, number_problem
from .validation import validate

_INVALID = object()


def spec_to_dict(spec: ArchSpec) -> dict:
    return {"schema": SPEC_SCHEMA, **_encode(spec)}


def spec_to_json(spec: ArchSpec, indent: int | None = 2) -> str:
    return json.dumps(spec_to_dict(spec), indent=indent)


def spec_from_json(text: str | bytes) -> ArchSpec:
    try:
        document = json.loads(text)
    except (ValueError, TypeError, RecursionError) as error:
        raise SpecError([Problem("", f"not valid JSON: {error}")]) from None
    return spec_from_dict(document)


def spec_from_dict(document: Any) -> ArchSpec:
    """Decode and validate; raises SpecError listing every problem found."""
    if nested_too_deeply(document):
        raise SpecError([Problem("", f"nested more than {MAX_NESTING} levels deep; a spec is a few levels deep")])
    if not isinstance(document, dict):
        raise SpecError([Problem("", f"expected a JSON object, found {_type_name(document)}")])
    schema = document.get("schema", SPEC_SCHEMA)
    if schema != SPEC_SCHEMA:
        raise SpecError([Problem("schema", f"expected {SPEC_SCHEMA!r}, found {brief(schema)}")])
    body = {key: value for key, value in document.items() if key != "schema"}
    layers = body.get("layers")
    if isinstance(layers, list) and len(layers) > MAX_LAYERS:  # before decoding each of them
        raise SpecError([Problem("layers", f"{len(layers):,} layers exceed the limit of {MAX_LAYERS:,}")])
    problems: list[Problem] = []
    spec = _decode_dataclass(ArchSpec, body, "", problems)
    if problems:
        raise SpecError(problems)
    problems = validate(spec)
    if problems:
        raise SpecError(problems)
    return spec


# --- encoding ---------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        out = {"kind": value.kind} if hasattr(type(value), "kind") else {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.default is not dataclasses.MISSING and item == f.default:
                continue  # defaults are implied; keeps 60-layer specs readable
            if f.default_factory is not dataclasses.MISSING and item == f.default_factory():
                continue
            out[f.name] = _encode(item)
        return out
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    return value


# --- decoding ---------------------------------------------------------------------------


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value),
                                                                           type(value).__name__)


def _join(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def _decode_dataclass(cls: type, value: Any, path: str, problems: list[Problem]) -> Any:
    if not isinstance(value, dict):
        problems.append(Problem(path, f"expected an object ({cls.__name__}), found {_type_name(value)}"))
        return _INVALID
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    ok = True
    for key in value:
        if key == "kind" and hasattr(cls, "kind"):
            continue
        if key not in fields:
            problems.append(Problem(_join(path, key), f"unknown field for {cls.__name__}"))
            ok = False
    for name, f in fields.items():
        if name not in value:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.append(Problem(_join(path, name), "missing required field"))
                ok = False
            continue
        decoded = _decode(hints[name], value[name], _join(path, name), problems)
        if decoded is _INVALID:
            ok = False
        else:
            kwargs[name] = decoded
    return cls(**kwargs) if ok else _INVALID


def _decode(tp: Any, value: Any, path: str, problems: list[Problem]) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None:
            if type(None) in options:
                return None
            problems.append(Problem(path, "must not be null"))
            return _INVALID
        classes = [option for option in options if dataclasses.is_dataclass(option)]
        if len(classes) > 1:
            return _decode_tagged(classes, value, path, problems)
        (option,) = [option for option in options if option is not type(None)]
        return _decode(option, value, path, problems)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if isinstance(value, str) and value in allowed:
            return value
        problems.append(Problem(path, f"expected one of {', '.join(map(repr, allowed))}, found {brief(value)}"))
        return _INVALID
    if origin is tuple:
        (item_type, _ellipsis) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(Problem(path, f"expected a list, found {_type_name(value)}"))
            return _INVALID
        items = [_decode(item_type, item, _join(path, i), problems) for i, item in enumerate(value)]
        return _INVALID if any(item is _INVALID for item in items) else tuple(items)
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, value, path, problems)
    return _decode_scalar(tp, value, path, problems)


def _decode_tagged(classes: list[type], value: Any, path: str, problems: list[Problem]) -> Any:
    by_kind = {cls.kind: cls for cls in classes}
    kinds = ", ".join(map(repr, by_kind))
    if not isinstance(value, dict):
        problems.append(Problem(path, f"expected an object with a kind ({kinds}), found {_type_name(value)}"))
        return _INVALID
    kind = value.get("kind")
    if not isinstance(kind, str) or kind not in by_kind:
        problems.append(Problem(_join(path, "kind"), f"expected one of {kinds}, found {brief(kind)}"))
        return _INVALID
    return _decode_dataclass(by_kind[kind], value, path, problems)


def _decode_scalar(tp: Any, value: Any, path: str, problems: list[Problem]) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # an integer past float's range (about 1.8e308)
                problems.append(Problem(path, f"must be a finite number, found an integer of {value.bit_length()} bits"))
                return _INVALID
            if number_problem(number):
                problems.append(Problem(path, number_problem(number)))
                return _INVALID
            return number
    elif tp is str:
        if isinstance(value, str):
            return value
    else:  # pragma: no cover - a field type this reader was not taught
        raise TypeError(f"unsupported field type {tp!r} at {path}")
    expected = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}[tp]
    problems.append(Problem(path, f"expected {expected}, found {_type_name(value)} {brief(value)}"))
    return _INVALID
