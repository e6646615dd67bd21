"""Request validation against Discord's own OpenAPI specification (vendored in `spec/`).

Every request the loopback serves is checked against the schema of its route and method in the
specification (the JSON body, or a multipart request's `payload_json`; path and query
parameters), so the loopback rejects what Discord rejects, with Discord's error shape::

    400 {"code": 50035, "message": "Invalid Form Body",
         "errors": {"components": {"0": {"components": {"5": {"_errors": [{"code": ..., "message": ...}]}}}}}}

The specification is OpenAPI 3.1, whose schemas are JSON Schema 2020-12: one `referencing`
registry holds the whole document, so every `$ref` ("#/components/schemas/...") resolves, and
one compiled Draft 2020-12 validator per route and method is cached for the life of the process.

Where the specification (a "preview") and Discord's documentation disagree, the documentation
wins, and the difference is listed in `DOCUMENTED_DIFFERENCES` below.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_FILE = Path(__file__).parent / "spec" / "openapi.json.gz"
BASE_URI = "urn:discord-openapi"
METHODS = ("get", "put", "post", "patch", "delete")

# Where the preview specification is stricter than Discord as documented (and as discord.py 2.7
# talks to it), the documentation is followed: (schema, property, the schema used instead, why).
DOCUMENTED_DIFFERENCES: list[tuple[str, str, dict[str, Any], str]] = [
    (schema, "default_member_permissions", {"type": ["string", "integer", "null"], "pattern": "^[0-9]{1,20}$"},
     "the documentation gives a permission bit set as a string ('?string'), which is what discord.py sends;"
     " the preview specification says integer")
    for schema in ("ApplicationCommandCreateRequest", "ApplicationCommandPatchRequestPartial",
                   "ApplicationCommandUpdateRequest")
]


# Snowflakes: Discord returns them as strings (so no language loses precision), and takes them as
# strings or integers; discord.py sends integers (allowed_mentions users, attachment ids).
SNOWFLAKE = {
    "oneOf": [
        {"type": "string", "pattern": "^(0|[1-9][0-9]*)$", "format": "snowflake"},
        {"type": "integer", "minimum": 0, "maximum": 2**64 - 1},
    ]
}


def _as_documented(spec: dict[str, Any]) -> dict[str, Any]:
    schemas = spec["components"]["schemas"]
    schemas["SnowflakeType"] = SNOWFLAKE
    for schema, prop, replacement, _ in DOCUMENTED_DIFFERENCES:
        assert prop in schemas[schema]["properties"], f"{schema}.{prop} has moved: review DOCUMENTED_DIFFERENCES"
        schemas[schema]["properties"][prop] = replacement
    return spec

# jsonschema keyword -> the error code Discord uses for that kind of problem.
_CODES = {
    "maxLength": "BASE_TYPE_BAD_LENGTH",
    "minLength": "BASE_TYPE_BAD_LENGTH",
    "maxItems": "BASE_TYPE_MAX_LENGTH",
    "minItems": "BASE_TYPE_MIN_LENGTH",
    "maximum": "NUMBER_TYPE_MAX",
    "minimum": "NUMBER_TYPE_MIN",
    "enum": "BASE_TYPE_CHOICES",
    "const": "BASE_TYPE_CHOICES",
    "oneOf": "BASE_TYPE_CHOICES",
    "anyOf": "BASE_TYPE_CHOICES",
    "required": "BASE_TYPE_REQUIRED",
    "type": "BASE_TYPE_BAD_TYPE",
    "pattern": "BASE_TYPE_BAD_FORMAT",
    "additionalProperties": "BASE_TYPE_UNKNOWN_FIELD",
}


@dataclass(frozen=True)
class Operation:
    """One route and method of the specification, with its validators (compiled on first use)."""

    method: str
    path: str  # as the specification spells it, e.g. "/channels/{channel_id}/messages"
    body: Draft202012Validator | None
    params: dict[tuple[str, str], Draft202012Validator]  # (in, name) -> validator


class DiscordSpec:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self.registry: Registry = Registry().with_resource(BASE_URI, resource)
        # Literal segments before parameters ("/thread-members/@me" before "/{user_id}").
        routes = []
        for path in spec["paths"]:
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
            params = [m.group(1) for m in re.finditer(r"\{([^}]+)\}", path)]
            routes.append((len(params), path, pattern, params))
        routes.sort(key=lambda r: (r[0], -len(r[1])))
        self._routes = routes
        self._operations: dict[tuple[str, str], Operation | None] = {}
        self._named: dict[str, Draft202012Validator] = {}

    def _validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"{BASE_URI}#{pointer}"}, registry=self.registry)

    def operation(self, method: str, path: str) -> tuple[Operation | None, dict[str, str]]:
        """The specification's operation for a request path, and its path parameters."""
        for _, spec_path, pattern, names in self._routes:
            if not pattern.match(path):
                continue
            values = dict(zip(names, _segments(spec_path, path), strict=True))
            key = (method.lower(), spec_path)
            if key not in self._operations:
                self._operations[key] = self._compile(method.lower(), spec_path)
            return self._operations[key], values
        return None, {}

    def _compile(self, method: str, spec_path: str) -> Operation | None:
        item = self.spec["paths"][spec_path]
        op = item.get(method)
        if op is None:
            return None
        escaped = spec_path.replace("~", "~0").replace("/", "~1")
        body = None
        content = (op.get("requestBody") or {}).get("content") or {}
        if "application/json" in content:
            body = self._validator(f"/paths/{escaped}/{method}/requestBody/content/application~1json/schema")
        params: dict[tuple[str, str], Draft202012Validator] = {}
        for where, listed in (("path-item", item.get("parameters") or []), (method, op.get("parameters") or [])):
            for index, param in enumerate(listed):
                if "schema" not in param:
                    continue
                base = f"/paths/{escaped}" + ("" if where == "path-item" else f"/{method}")
                params[(param["in"], param["name"])] = self._validator(f"{base}/parameters/{index}/schema")
        return Operation(method, spec_path, body, params)

    def schema_problems(self, schema: str, instance: Any) -> dict[str, Any] | None:
        """Errors against one named schema: where a route's body is a union the specification
        leaves loose (PATCH /channels/{id} takes any of four shapes), the loopback, knowing the
        channel, checks the one that applies."""
        if schema not in self._named:
            self._named[schema] = self._validator(f"/components/schemas/{schema}")
        errors: dict[str, Any] = {}
        for error in self._named[schema].iter_errors(instance):
            deepest = _deepest(error)
            _add(errors, list(deepest.absolute_path), deepest)
        return errors or None

    def problems(self, method: str, path: str, body: Any, query: dict[str, str]) -> dict[str, Any] | None:
        """Discord's `errors` object for a request the specification rejects, else None."""
        op, values = self.operation(method, path)
        if op is None:
            return None
        errors: dict[str, Any] = {}
        for (where, name), validator in op.params.items():
            raw = values.get(name) if where == "path" else query.get(name)
            if raw is None:
                continue
            for error in validator.iter_errors(_coerce(validator, raw)):
                _add(errors, [name], _deepest(error))
        if op.body is not None and body is not None:
            for error in op.body.iter_errors(body):
                deepest = _deepest(error)
                _add(errors, list(deepest.absolute_path), deepest)
        return errors or None


def _segments(spec_path: str, path: str) -> list[str]:
    return [value for template, value in zip(spec_path.split("/"), path.split("/"), strict=False) if template.startswith("{")]


def _coerce(validator: Draft202012Validator, raw: str) -> Any:
    """Query and path values arrive as text: read them as the number or flag the schema wants."""
    if validator.is_valid(raw):
        return raw
    for attempt in (_int, _bool):
        value = attempt(raw)
        if value is not None and validator.is_valid(value):
            return value
    return _int(raw) if _int(raw) is not None else raw


def _int(raw: str) -> int | None:
    return int(raw) if re.fullmatch(r"-?\d+", raw) else None


def _bool(raw: str) -> bool | None:
    # Discord reads query flags loosely; discord.py sends `with_response=1`.
    return {"true": True, "1": True, "false": False, "0": False}.get(raw.lower())


def _deepest(error: ValidationError) -> ValidationError:
    """Inside a oneOf/anyOf, the alternative meant: branches whose discriminating `type` (or
    whole JSON type) does not fit are set aside, as Discord reads a component by its type."""
    while error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0] if sub.relative_schema_path else None, []).append(sub)
        meant = [
            sub
            for subs in branches.values()
            if not any(_wrong_kind(e, error) for e in subs)
            for sub in subs
        ]
        error = best_match(meant or error.context)
    return error


def _wrong_kind(sub: ValidationError, parent: ValidationError) -> bool:
    here = list(sub.absolute_path)[len(parent.absolute_path) :]
    if sub.validator == "type" and not here:
        return True  # e.g. the null branch of a nullable value
    return sub.validator in ("const", "enum") and here == ["type"]


def _add(errors: dict[str, Any], where: list[Any], error: ValidationError) -> None:
    node = errors
    for part in where:
        node = node.setdefault(str(part), {})
    entries = node.setdefault("_errors", [])
    entry = {"code": _CODES.get(str(error.validator), "BASE_TYPE_INVALID"), "message": error.message[:200]}
    if entry not in entries:
        entries.append(entry)


@cache
def discord_spec() -> DiscordSpec:
    """The vendored specification, loaded once per process."""
    return DiscordSpec(_as_documented(json.loads(gzip.decompress(SPEC_FILE.read_bytes()))))
