"""The upstream API's operation schemas (docs/upstream/upstream-openapi.yaml) as a response
checker: what an unchanged upstream client decodes (docs/api-decisions.md §6).

``UPSTREAM.violations(method, path, status, body)`` says how a Trunkline response differs from the
upstream operation it answers, strictly:

- the status must be one the operation declares (``200``, ``2XX``…); an error status the operation
  does not declare must carry the upstream errors guide's ``ErrorEnvelope``, with ``data.error``
  the lower-case form of ``error.code``;
- every property the upstream schema lists is required (a client reads it), at every depth;
- a typed value may not be null unless the schema says ``nullable``; formats (uuid, date-time)
  are checked.

Requests to paths the upstream does not document are not checked (``None``).
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

UPSTREAM_DOC = Path(__file__).resolve().parents[2] / "docs" / "upstream" / "upstream-openapi.yaml"
METHODS = ("get", "put", "post", "patch", "delete")


@functools.cache
def upstream_spec() -> dict[str, Any]:
    return dict(yaml.safe_load(UPSTREAM_DOC.read_text()))


def strict_schema(spec: dict[str, Any], schema: Any) -> Any:
    """An OpenAPI 3.0 schema as a strict JSON Schema: refs inlined, ``nullable`` turned into a
    null type, and every listed property required."""
    if isinstance(schema, list):
        return [strict_schema(spec, s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        return strict_schema(spec, node)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-") or key in ("example", "examples", "description", "writeOnly"):
            continue
        if key == "properties":
            out[key] = {name: strict_schema(spec, sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = strict_schema(spec, value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [strict_schema(spec, sub) for sub in value]
        elif key != "nullable":
            out[key] = copy.deepcopy(value)
    if "properties" in out:
        out["required"] = sorted(set(out.get("required", [])) | set(out["properties"]))
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the upstream template, e.g. /api/v1/phone-numbers/{uuid}
    pattern: re.Pattern[str]
    literal_segments: int

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


def _operations(spec: dict[str, Any]) -> list[Operation]:
    found = []
    for path, item in spec["paths"].items():
        regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"
        literal = sum(1 for seg in path.split("/") if seg and not seg.startswith("{"))
        for method in METHODS:
            if method in item:
                found.append(Operation(method, path, re.compile(regex), literal))
    return found


class Upstream:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.operations = _operations(spec)
        self.error_schema = strict_schema(spec, {"$ref": "#/components/schemas/ErrorEnvelope"})

    def operation(self, method: str, path: str) -> Operation | None:
        """The upstream operation a request answers: the most specific path template matching
        ``path`` (literal segments win over parameters), if it has ``method``."""
        matching = [op for op in self.operations if op.pattern.match(path)]
        if not matching:
            return None
        best = max(op.literal_segments for op in matching)
        for op in matching:
            if op.literal_segments == best and op.method == method.lower():
                return op
        return None

    @functools.cache
    def _validator(self, path: str, method: str, key: str) -> jsonschema.Validator | None:
        response = self.spec["paths"][path][method]["responses"][key]
        content = response.get("content", {}).get("application/json")
        if not content or "schema" not in content:
            return None
        schema = strict_schema(self.spec, content["schema"])
        return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())

    def violations(self, method: str, path: str, status: int, body: Any) -> list[str] | None:
        """How the response differs from the upstream operation's (empty: it conforms); None
        when the upstream documents no such operation."""
        op = self.operation(method, path)
        if op is None:
            return None
        responses = self.spec["paths"][op.path][op.method].get("responses", {})
        key = next(
            (k for k in (str(status), f"{status // 100}XX", "default") if k in responses), None
        )
        if key is None:
            if status < 400:
                return [f"{op.label}: status {status} is not one upstream declares"]
            validator = jsonschema.Draft7Validator(
                self.error_schema, format_checker=jsonschema.FormatChecker()
            )
        else:
            validator = self._validator(op.path, op.method, key)
        problems = []
        if validator is not None:
            problems = [
                f"{op.label} {status}: {'/'.join(map(str, e.absolute_path)) or '(body)'}: "
                f"{e.message}"
                for e in validator.iter_errors(body)
            ]
        if status >= 400 and isinstance(body, dict):
            code = (body.get("error") or {}).get("code")
            data_code = (body.get("data") or {}).get("error")
            if not isinstance(code, str) or code != code.upper() or data_code != code.lower():
                problems.append(
                    f"{op.label} {status}: error.code {code!r} / data.error {data_code!r} are "
                    "not the UPPER_SNAKE and lower snake_case forms of one code"
                )
        return problems


UPSTREAM = Upstream(upstream_spec())


@dataclass
class Record:
    """Which upstream operations a run's responses answered, and how they differed."""

    checked: dict[str, int]
    problems: list[str]


RECORD = Record(checked={}, problems=[])


def check_response(method: str, path: str, status: int, body: Any) -> list[str]:
    """Check one response (recorded in ``RECORD``); the problems, empty when it conforms."""
    found = UPSTREAM.violations(method, path, status, body)
    if found is None:
        return []
    op = UPSTREAM.operation(method, path)
    assert op is not None
    RECORD.checked[op.label] = RECORD.checked.get(op.label, 0) + 1
    RECORD.problems.extend(found)
    return found
