"""Settings: TOOLS_* variables, the shared KAFKA_URL / SEARXNG_URL names, and defaults."""

from __future__ import annotations

import pytest

from services.tools.settings import ToolsSettings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_URL", "TOOLS_KAFKA_URL", "SEARXNG_URL", "TOOLS_SEARXNG_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = ToolsSettings()
    assert (settings.kafka_url, settings.host, settings.port) == (
        "127.0.0.1:9092",
        "127.0.0.1",
        8003,
    )
    assert settings.research_enabled is False


def test_shared_names_and_prefixed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_URL", "shared:9092")
    monkeypatch.setenv("SEARXNG_URL", "http://searx:8080")
    assert ToolsSettings().kafka_url == "shared:9092"
    assert ToolsSettings().research_enabled is True
    monkeypatch.setenv("TOOLS_KAFKA_URL", "own:9092")
    monkeypatch.setenv("TOOLS_SEARXNG_URL", "")
    assert ToolsSettings().kafka_url == "own:9092"  # the service's own variable wins
    assert ToolsSettings().research_enabled is False
    assert ToolsSettings(kafka_url="passed:1").kafka_url == "passed:1"


def test_switch_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLS_DISABLED_TOOLS", '["hash_text", "base64_codec"]')
    monkeypatch.setenv("TOOLS_ADMIN_KEY", "s3cret")
    settings = ToolsSettings()
    assert settings.disabled_tools == ["hash_text", "base64_codec"]
    assert settings.admin_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)  # a secret is never logged with the settings
