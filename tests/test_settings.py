from __future__ import annotations

from pathlib import Path

import pytest

from agentkernel import ConfigError, InMemoryStore
from agentkernel.settings import load_settings
from agentkernel.stores import known_stores, open_store


def test_defaults() -> None:
    settings = load_settings()
    assert settings.session.type == "in_memory"
    assert settings.session.ttl == 0
    assert settings.runner.busy == "wait"
    assert settings.api.keys == {}
    assert isinstance(open_store(settings.session), InMemoryStore)


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AK_SESSION__TTL", "60")
    monkeypatch.setenv("AK_SESSION__REDIS__URL", "redis://cache:6380/1")
    monkeypatch.setenv("AK_RUNNER__BUSY", "reject")
    monkeypatch.setenv("AK_API__KEYS", '{"alice": "k-1"}')
    settings = load_settings()
    assert settings.session.ttl == 60
    assert settings.session.redis == {"url": "redis://cache:6380/1"}
    assert settings.runner.busy == "reject"
    assert settings.api.keys["alice"].get_secret_value() == "k-1"
    assert "k-1" not in repr(settings)


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("AK_SESSION__TTL=7\n")
    assert load_settings().session.ttl == 7


def test_unknown_store_type_lists_the_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AK_SESSION__TYPE", "nosuch")
    with pytest.raises(ConfigError) as caught:
        open_store(load_settings().session)
    message = str(caught.value)
    assert "AK_SESSION__TYPE='nosuch'" in message
    for name in ("in_memory", "redis", "dynamodb"):
        assert name in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__ is False


def test_misspelt_store_option_names_the_variable_and_the_valid_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AK_SESSION__IN_MEMORY__MAX_SESSIONZ", "5")
    with pytest.raises(ConfigError, match=r"AK_SESSION__IN_MEMORY__MAX_SESSIONZ.*valid options: MAX_SESSIONS"):
        open_store(load_settings().session)


def test_store_option_out_of_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AK_SESSION__IN_MEMORY__MAX_SESSIONS", "0")
    with pytest.raises(ConfigError, match=r"AK_SESSION__IN_MEMORY__MAX_SESSIONS: Input should be greater"):
        open_store(load_settings().session)


def test_options_for_an_unknown_store_are_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AK_SESSION__REDSI__URL", "redis://x")
    with pytest.raises(ConfigError, match="AK_SESSION__REDSI__"):
        open_store(load_settings().session)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("AK_SESSION__TTL", "-1", "AK_SESSION__TTL: Input should be greater than or equal to 0"),
        ("AK_SESSION__TTL", "soon", "AK_SESSION__TTL: Input should be a valid integer"),
        ("AK_RUNNER__BUSY", "maybe", "AK_RUNNER__BUSY: Input should be 'wait' or 'reject'"),
        ("AK_RUNNER__CONFLICT", "overwrite", "AK_RUNNER__CONFLICT: Input should be 'retry' or 'reject'"),
        ("AK_SESSION__TLL", "4", "unknown setting AK_SESSION__TLL"),
    ],
)
def test_invalid_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert expected in str(caught.value)


def test_known_stores_come_from_entry_points() -> None:
    assert {"in_memory", "redis", "dynamodb"} <= set(known_stores())
