"""Tenant documents: validated strictly with the bot config's own models, failing closed."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from frontdesk.errors import ConfigError
from frontdesk.tenants.config import config_version, parse_tenant_config, read_tenant_file
from tests.conftest import REPO
from tests.tenants.world import ACME


def test_a_tenant_document_validates_with_the_bot_config_models() -> None:
    config = parse_tenant_config(copy.deepcopy(ACME), source="acme")
    assert config.bot.name == "Roadrunner"
    assert config.bot.knowledge.collection == "acme-docs"
    assert config.display_name == "Roadrunner Help"
    assert config.widget_origins == ["https://shop.acme.example"]
    assert config.retention_days is None
    assert config.bot.version  # a hash of the bot document when it sets none
    served = config.served_bot()
    assert served.greeting == ACME["branding"]["greeting"]
    assert config.bot.greeting != served.greeting  # the branding's greeting wins when set


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["branding"].update(primary_color="red"), "#rrggbb"),
        (lambda d: d.update(widget_origins=["https://a.example/path"]), "origin only"),
        (lambda d: d.update(widget_origins=["javascript:alert(1)"]), "is not an origin"),
        (lambda d: d["branding"].update(logo_url="http://logo.example/x.png"), "https://"),
        (lambda d: d["branding"].update(logo_url="data:text/html;base64,PGI+"), "data: URL"),
        (lambda d: d.update(colour="#000000"), "Extra inputs are not permitted"),
        (lambda d: d["bot"]["model"].update(chain=["nowhere"]), "unknown endpoint 'nowhere'"),
        (lambda d: d["bot"].update(system_prompt="Hi {nobody}"), "bad placeholder"),
        (lambda d: d["bot"].pop("company"), "company"),
        (lambda d: d.pop("bot"), r"'bot' \(the bot config\) is required"),
        (lambda d: d.update(retention_days=0), "retention_days"),
    ],
)
def test_a_bad_document_is_refused_with_a_message(
    change: Callable[[dict[str, Any]], object], message: str
) -> None:
    document = copy.deepcopy(ACME)
    change(document)
    with pytest.raises(ConfigError, match=message):
        parse_tenant_config(document, source="acme")


def test_the_version_changes_with_any_field_and_only_then() -> None:
    document = copy.deepcopy(ACME)
    same = copy.deepcopy(ACME)
    assert config_version(document) == config_version(same)
    same["branding"]["primary_color"] = "#000000"
    assert config_version(document) != config_version(same)


def test_a_tenant_file_may_name_its_bot_file(tmp_path: Path) -> None:
    (tmp_path / "bots").mkdir()
    (tmp_path / "bots" / "acme.yaml").write_text(
        "name: Roadrunner\ncompany: Acme\nsystem_prompt: You are {bot_name}.\n"
        "knowledge: {collection: acme-docs}\n",
        encoding="utf-8",
    )
    tenant = tmp_path / "acme.yaml"
    tenant.write_text(
        "bot: bots/acme.yaml\nbranding: {primary_color: '#B91C1C'}\n"
        "widget_origins: ['https://Shop.Acme.example']\nretention_days: 30\n",
        encoding="utf-8",
    )
    document = read_tenant_file(tenant)
    assert document["bot"]["company"] == "Acme"
    config = parse_tenant_config(document, source="acme")
    assert config.branding.primary_color == "#b91c1c"
    assert config.widget_origins == ["https://shop.acme.example"]
    assert config.retention_days == 30


def test_a_tenant_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        read_tenant_file(bad)
    with pytest.raises(ConfigError, match="cannot read tenant config"):
        read_tenant_file(tmp_path / "missing.yaml")


def test_the_example_tenant_file_validates() -> None:
    config = parse_tenant_config(
        read_tenant_file(REPO / "config" / "tenants" / "example.yaml"), source="example"
    )
    assert config.bot.knowledge.collection == "contoso"
    assert config.widget_origins == ["https://www.contoso.example"]
    assert config.retention_days == 90
