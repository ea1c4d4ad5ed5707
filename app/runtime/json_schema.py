"""Checking a JSON document against the part of JSON Schema that the app's own schemas use
(app/resources/profile.schema.json), so the app reads a file by the same rules its tests
check it with, without the jsonschema package (a test dependency only).

Every problem is returned, each as its field path (`steps[3].wall_ms`) and what was
expected there. A keyword this module does not know raises, so that a schema edited to use
one is not silently checked less than it says.
"""

from __future__ import annotations

import json
import math
import re

# Keywords that describe rather than constrain ("format" too: a date-time is not checked).
_ANNOTATIONS = {"$schema", "$id", "title", "description", "format"}

DEFAULT_LIMIT = 20

_TYPE_NAMES = {"object": "an object", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "null"}


def _is_type(value, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):  # Python's True is an int; JSON's true is no number
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":  # JSON has no NaN or infinity, though Python's json reads them
        return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    raise ValueError(f"schema: unknown type {name!r}")


def _found(value) -> str:
    if value is None or isinstance(value, bool):  # as the file spells them
        return json.dumps(value)
    text = repr(value) if not isinstance(value, (dict, list)) else ("an object" if isinstance(value, dict)
                                                                    else f"a list of {len(value)}")
    return text if len(text) <= 40 else text[:37] + "..."


def _join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def problems(document, schema: dict, path: str = "", limit: int = DEFAULT_LIMIT) -> list[str]:
    """Every way `document` breaks `schema` ("field.path: expected ..., found ..."), at
    most `limit` of them (a long list of the same mistake says no more than its start)."""
    _check_keywords(schema, path or "the document")
    found: list[str] = []
    _check(document, schema, path, found, limit)
    return found


def _check_keywords(schema: dict, where: str) -> None:
    unknown = set(schema) - _ANNOTATIONS - _KEYWORDS
    if unknown:
        raise ValueError(f"schema at {where}: keywords {sorted(unknown)} are not supported")
    if set(schema.get("propertyNames", {})) - {"pattern"}:
        raise ValueError(f"schema at {where}: propertyNames supports only a pattern")
    for key, part in schema.get("properties", {}).items():
        _check_keywords(part, _join(where, key))
    for keyword in ("items", "additionalProperties"):
        if isinstance(schema.get(keyword), dict):
            _check_keywords(schema[keyword], f"{where}.{keyword}")


# A list of plain numbers (a step's per-layer times, its KV bytes) is most of a snapshot:
# such a list is first checked whole at C speed, item by item only when that fails.
_PLAIN_NUMBER_KEYWORDS = {"type", "minimum", "description"}


def _plain_numbers_pass(values: list, schema: dict) -> bool:
    if set(schema) - _PLAIN_NUMBER_KEYWORDS or schema.get("type") not in ("number", "integer"):
        return False
    types = set(map(type, values))
    allowed = {int} if schema["type"] == "integer" else {int, float}
    if not types <= allowed:
        return False
    if float in types and not all(map(math.isfinite, values)):
        return False
    return not values or "minimum" not in schema or min(values) >= schema["minimum"]


def _check(value, schema: dict, path: str, found: list[str], limit: int) -> None:
    if len(found) >= limit:
        return
    where = path or "the document"
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, name) for name in names):
            expected = " or ".join(_TYPE_NAMES[name] for name in names)
            found.append(f"{where}: expected {expected}, found {_found(value)}")
            return  # the other keywords would only repeat it
    if "const" in schema and value != schema["const"]:
        found.append(f"{where}: expected {schema['const']!r}, found {_found(value)}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: expected one of {', '.join(map(repr, schema['enum']))}, found {_found(value)}")
    if ("minimum" in schema or "exclusiveMinimum" in schema or "maximum" in schema) and _is_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{where}: expected a number >= {schema['minimum']}, found {_found(value)}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            found.append(f"{where}: expected a number > {schema['exclusiveMinimum']}, found {_found(value)}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{where}: expected a number <= {schema['maximum']}, found {_found(value)}")
    if isinstance(value, list) and "items" in schema and not _plain_numbers_pass(value, schema["items"]):
        for index, item in enumerate(value):
            _check(item, schema["items"], _join(path, index), found, limit)
            if len(found) >= limit:
                return
    if isinstance(value, dict):
        _check_object(value, schema, path, found, limit)


def _check_object(value: dict, schema: dict, path: str, found: list[str], limit: int) -> None:
    for key in schema.get("required", ()):
        if key not in value:
            found.append(f"{_join(path, key)}: missing (expected {_describe(schema.get('properties', {}).get(key))})")
    properties = schema.get("properties", {})
    pattern = schema.get("propertyNames", {}).get("pattern")
    for key, item in value.items():
        if len(found) >= limit:
            return
        if pattern is not None and not re.search(pattern, str(key)):
            found.append(f"{_join(path, key)}: the name {key!r} does not match {pattern!r}")
        if key in properties:
            _check(item, properties[key], _join(path, key), found, limit)
        elif isinstance(schema.get("additionalProperties"), dict):
            _check(item, schema["additionalProperties"], _join(path, key), found, limit)


def _describe(schema: dict | None) -> str:
    if not schema:
        return "a value"
    if "const" in schema:
        return repr(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(map(repr, schema["enum"]))
    names = schema.get("type")
    if names is None:
        return "a value"
    return " or ".join(_TYPE_NAMES[name] for name in (names if isinstance(names, list) else [names]))


_KEYWORDS = {"type", "const", "enum", "minimum", "exclusiveMinimum", "maximum", "items", "required", "properties",
             "additionalProperties", "propertyNames"}
