"""Actions in the bot config: what the bot may look up or do in the company's API.

::

    actions:
      base_url_env: NORTHWIND_API_URL       # or base_url: https://api.northwind.example
      secret_env: NORTHWIND_ACTION_SECRET   # signs the acting-for token of each call
      budget_per_conversation: 10
      definitions:
        - name: lookup_plan
          title: Your plan
          description: The customer's current plan, since when, and the seats in use.
          examples: ["Which plan am I on?"]
          effect: read                       # read | change (a change asks for confirmation)
          endpoint: {method: GET, url: "{base_url}/v1/me/plan"}
          answer: "Your workspace is on the {plan} plan (since {since})."

The model (or the embedded router) supplies only the ``parameters``; the runtime adds the
customer's identity as a short-lived ``acting-for`` token in a header of each call.
"""

from __future__ import annotations

import re
import string
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Effect = Literal["read", "change"]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_FILLERS = ("message", "month", "today", "claim:", "regex:", "const:")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def template_fields(template: str) -> list[str]:
    """The ``{name}`` fields of a ``str.format`` template (dotted names kept whole)."""
    fields = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name or conversion or (spec and not re.fullmatch(r"[<>^]?\d*", spec)):
            raise ValueError(f"template field {{{name}}} must be a plain name")
        fields.append(name)
    return fields


class ActionEndpoint(_Strict):
    method: Method = "GET"
    url: str = Field(description="URL template: {base_url} and {parameter} fields")
    headers: dict[str, str] = Field(default_factory=dict, description="Static headers")
    header_env: dict[str, str] = Field(
        default_factory=dict, description="Header name -> variable holding its value (a key)"
    )
    timeout_seconds: float = Field(5.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        fields = template_fields(value)
        if not value.startswith(("{base_url}", "http://", "https://")):
            raise ValueError("url must start with {base_url}, http:// or https://")
        if "base_url" in fields and not value.startswith("{base_url}"):
            raise ValueError("{base_url} may only start the url")
        return value


class ActionConfig(_Strict):
    name: str = Field(description="Tool name: lower case, digits and _")
    title: str = Field(description="What the customer sees as the source of the answer")
    description: str = Field(min_length=10, description="What it does, for the model")
    examples: list[str] = Field(default_factory=list, description="Questions it answers")
    keywords: list[str] = Field(
        default_factory=list,
        description="Embedded routing: one of these words must be in the message "
        "(a trailing * matches any ending)",
    )
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}, "additionalProperties": False},
        description="JSON schema (an object) of the arguments",
    )
    endpoint: ActionEndpoint
    effect: Effect = "read"
    requires_claims: list[str] = Field(
        default_factory=list, description="Verified identity claims the customer must carry"
    )
    fill: dict[str, str] = Field(
        default_factory=dict,
        description="Embedded routing: how to fill a parameter (message, month, today, "
        "claim:NAME, regex:PATTERN, const:VALUE)",
    )
    answer: str | None = Field(
        None, description="Template of the answer from the result's fields (embedded model)"
    )
    confirm: str | None = Field(
        None, description="Template of the confirmation question (effect: change)"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.fullmatch(value):
            raise ValueError("an action name is lower case letters, digits and _")
        return value

    @field_validator("parameters")
    @classmethod
    def _schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        from jsonschema import Draft202012Validator  # only bots with actions need it
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"parameters is not a valid JSON schema: {exc.message}") from exc
        if value.get("type") != "object":
            raise ValueError("parameters must be a JSON schema of type object")
        return value

    @model_validator(mode="after")
    def _fields(self) -> ActionConfig:
        props = set(self.parameters.get("properties", {}))
        for name in template_fields(self.endpoint.url):
            if name != "base_url" and name not in props:
                raise ValueError(f"endpoint url uses {{{name}}}, which is not a parameter")
        for name, how in self.fill.items():
            if name not in props:
                raise ValueError(f"fill names {name!r}, which is not a parameter")
            if not how.startswith(_FILLERS):
                raise ValueError(f"fill {how!r}: one of {', '.join(_FILLERS)}")
            if how.startswith("regex:"):
                re.compile(how[6:])
        for template in (self.answer, self.confirm):
            if template is not None:
                template_fields(template)
        return self

    def mentions(self, text: str) -> bool:
        """The message names one of the keywords (always, when there are none)."""
        if not self.keywords:
            return True
        words = "|".join(
            re.escape(k[:-1]) + r"\w*" if k.endswith("*") else re.escape(k) for k in self.keywords
        )
        return re.search(rf"\b(?:{words})\b", text, re.IGNORECASE) is not None

    @property
    def required(self) -> list[str]:
        required = self.parameters.get("required", [])
        return [str(r) for r in required] if isinstance(required, list) else []


class OpenApiImport(_Strict):
    path: str = Field(description="OpenAPI 3 document (JSON or YAML), relative to the bot file")
    operations: list[str] = Field(
        default_factory=list, description="operationIds to import (empty: every operation)"
    )


class ActionsConfig(_Strict):
    definitions: list[ActionConfig] = Field(default_factory=list)
    openapi: OpenApiImport | None = None
    base_url: str | None = Field(None, description="Filled into {base_url}")
    base_url_env: str | None = Field(None, description="Variable overriding base_url")
    secret_env: str | None = Field(
        None, description="Variable holding the secret that signs acting-for tokens"
    )
    acting_for_header: str = "X-Frontdesk-Acting-For"
    acting_for_audience: str = Field("company-api", description="`aud` of acting-for tokens")
    token_ttl_seconds: int = Field(60, ge=10, le=300)
    budget_per_conversation: int = Field(10, ge=1, le=1000)
    max_retries: int = Field(2, ge=0, le=5, description="Retries of a failed read (never a change)")
    breaker_failures: int = Field(3, ge=1, le=100)
    breaker_cooldown_seconds: float = Field(30.0, gt=0)
    max_response_bytes: int = Field(262144, ge=1024)
    max_tool_steps: int = Field(3, ge=1, le=8, description="Model rounds of tool calls a turn")
    confirm_ttl_seconds: int = Field(600, ge=30, le=86400)
    route_threshold: float = Field(
        0.5, ge=0, le=1, description="Embedded routing: least similarity to an action"
    )

    @model_validator(mode="after")
    def _unique(self) -> ActionsConfig:
        names = [a.name for a in self.definitions]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"actions.definitions: duplicate names {dupes}")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.definitions) or self.openapi is not None
