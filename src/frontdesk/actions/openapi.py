"""Actions imported from an OpenAPI 3 document: one per operation.

An operation becomes an action named after its ``operationId`` (snake case); its path and
query parameters and its JSON request body's properties become the JSON-schema parameters;
``GET``/``HEAD`` read and the other methods change, unless ``x-frontdesk-effect`` says
otherwise. Optional extensions: ``x-frontdesk-title``, ``x-frontdesk-examples`` (list),
``x-frontdesk-answer`` and ``x-frontdesk-confirm`` (templates), ``x-frontdesk-fill``
(parameter -> filler), ``x-frontdesk-requires-claims`` (list). Local ``$ref`` s are resolved.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from frontdesk.actions.config import ActionConfig
from frontdesk.errors import ConfigError

METHODS = ("get", "post", "put", "patch", "delete")
_MAX_REF_DEPTH = 16


def snake(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:64] or "action"


def _resolve(node: Any, doc: Mapping[str, Any], hops: int = 0, depth: int = 0) -> Any:
    """``node`` with local ``$ref`` s replaced by their targets (``hops``: refs followed on
    this branch, bounded so a cycle fails instead of recursing forever)."""
    if hops > _MAX_REF_DEPTH or depth > 4 * _MAX_REF_DEPTH:
        raise ConfigError("OpenAPI $ref nesting is too deep (a cycle?)")
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#/"):
                raise ConfigError(f"only local $refs are supported: {ref}")
            target: Any = doc
            for part in ref[2:].split("/"):
                if not isinstance(target, Mapping) or part not in target:
                    raise ConfigError(f"OpenAPI $ref {ref} points nowhere")
                target = target[part]
            return _resolve(target, doc, hops + 1, depth + 1)
        return {k: _resolve(v, doc, hops, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, doc, hops, depth + 1) for v in node]
    return node


def _parameters(op: Mapping[str, Any], shared: Sequence[Any]) -> tuple[dict[str, Any], list[str]]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in [*shared, *op.get("parameters", [])]:
        if not isinstance(param, Mapping) or param.get("in") not in ("path", "query"):
            continue
        name = str(param["name"])
        schema = dict(param.get("schema") or {"type": "string"})
        if param.get("description"):
            schema.setdefault("description", param["description"])
        properties[name] = schema
        if param.get("required") or param.get("in") == "path":
            required.append(name)
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    payload = body.get("schema") if isinstance(body, Mapping) else None
    if isinstance(payload, Mapping) and payload.get("type", "object") == "object":
        properties.update(payload.get("properties", {}))
        required += [str(r) for r in payload.get("required", [])]
    return properties, required


def actions_from_openapi(
    doc: Mapping[str, Any], operations: Sequence[str] = ()
) -> list[ActionConfig]:
    """The actions of ``doc``'s operations (only ``operations`` by operationId, when given)."""
    resolved = {**doc, "paths": _resolve(doc.get("paths") or {}, doc)}
    wanted = set(operations)
    found: list[ActionConfig] = []
    for path, item in (resolved.get("paths") or {}).items():
        for method in METHODS:
            op = item.get(method) if isinstance(item, Mapping) else None
            if not isinstance(op, Mapping) or not op.get("operationId"):
                continue
            op_id = str(op["operationId"])
            if wanted and op_id not in wanted:
                continue
            properties, required = _parameters(op, item.get("parameters", []))
            parameters: dict[str, Any] = {
                "type": "object",
                "properties": properties,
                "additionalProperties": False,
            }
            if required:
                parameters["required"] = sorted(set(required))
            effect = op.get("x-frontdesk-effect") or ("read" if method == "get" else "change")
            data = {
                "name": snake(op_id),
                "title": op.get("x-frontdesk-title") or op.get("summary") or op_id,
                "description": op.get("description") or op.get("summary") or op_id,
                "examples": op.get("x-frontdesk-examples", []),
                "parameters": parameters,
                "endpoint": {"method": method.upper(), "url": "{base_url}" + str(path)},
                "effect": effect,
                "requires_claims": op.get("x-frontdesk-requires-claims", []),
                "fill": op.get("x-frontdesk-fill", {}),
                "answer": op.get("x-frontdesk-answer"),
                "confirm": op.get("x-frontdesk-confirm"),
            }
            try:
                found.append(ActionConfig.model_validate(data))
            except ValidationError as exc:
                raise ConfigError(f"OpenAPI operation {op_id}: {exc.errors()[0]['msg']}") from exc
    missing = (
        wanted
        - {a.name for a in found}
        - {str(o.get("operationId")) for o in _operations(resolved)}
    )
    if missing:
        raise ConfigError(f"OpenAPI document has no operations {sorted(missing)}")
    return found


def _operations(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        item[m]
        for item in (doc.get("paths") or {}).values()
        if isinstance(item, Mapping)
        for m in METHODS
        if isinstance(item.get(m), Mapping)
    ]


def load_openapi_actions(path: Path, operations: Sequence[str] = ()) -> list[ActionConfig]:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read OpenAPI document {path}: {exc.strerror}") from exc
    try:
        doc = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"OpenAPI document {path} does not parse: {exc}") from exc
    if not isinstance(doc, Mapping) or not str(doc.get("openapi", "")).startswith("3"):
        raise ConfigError(f"{path} is not an OpenAPI 3 document")
    return actions_from_openapi(doc, operations)
