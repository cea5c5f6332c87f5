from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

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


# ------------------------------------------------ variables that are not what they should be
@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("AK_API__KEYS", "notjson", "AK_API__KEYS is not valid JSON: it expects a JSON object of user id -> API key"),
        (
            "AK_SESSION__REDIS",
            "redis://cache:6379/0",
            "AK_SESSION__REDIS is not valid JSON (got 'redis://cache:6379/0')",
        ),
        ("AK_SESSION", "{bad", "AK_SESSION is not valid JSON (got '{bad'): it expects a JSON object of session"),
        ("AK_RUNNER", "", "AK_RUNNER is not valid JSON (got '')"),
        ("AK_SESSION__DYNAMODB", "sessions", "e.g. AK_SESSION__DYNAMODB__TABLE_NAME=sessions"),
    ],
)
def test_a_json_variable_that_is_not_json_is_one_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert expected in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_bad_json_variable_in_dotenv_is_named_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("AK_SESSION__REDIS=redis://x\n")
    with pytest.raises(ConfigError, match=r"AK_SESSION__REDIS is not valid JSON.*AK_SESSION__REDIS__URL="):
        load_settings()


@pytest.mark.parametrize("value", ["sk-very-secret", '{"alice": 12345678}', '["sk-very-secret"]'])
def test_api_keys_are_never_echoed_in_the_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("AK_API__KEYS", value)
    with pytest.raises(ConfigError, match="AK_API__KEYS") as caught:
        load_settings()
    assert "sk-very-secret" not in str(caught.value) and "12345678" not in str(caught.value)


def test_options_of_a_store_that_is_not_selected_are_warned_about(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AK_SESSION__REDIS__URL", "redis://cache:6379/0")
    with caplog.at_level(logging.WARNING, logger="agentkernel"):
        assert isinstance(open_store(load_settings().session), InMemoryStore)
    [record] = [r for r in caplog.records if r.name.startswith("agentkernel")]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "AK_SESSION__REDIS__URL" in message and "AK_SESSION__TYPE=in_memory" in message
    assert "set AK_SESSION__TYPE=redis" in message and "\n" not in message


@pytest.mark.parametrize("store_type", ["in_memory", "redis"])
def test_a_misspelt_option_is_refused_whether_or_not_its_store_is_selected(
    monkeypatch: pytest.MonkeyPatch, store_type: str
) -> None:
    monkeypatch.setenv("AK_SESSION__TYPE", store_type)
    monkeypatch.setenv("AK_SESSION__REDIS__URLL", "redis://cache:6379/0")
    with pytest.raises(ConfigError, match=r"AK_SESSION__REDIS__URLL.*valid options: URL, PASSWORD"):
        open_store(load_settings().session)


_VARIABLES = [
    "AK_SESSION",
    "AK_RUNNER",
    "AK_API",
    "AK_API__KEYS",
    "AK_SESSION__REDIS",
    "AK_SESSION__DYNAMODB",
    "AK_SESSION__IN_MEMORY",
    "AK_SESSION__TTL",
    "AK_SESSION__REDIS__URLL",
    "AK_SESSION__IN_MEMORY__MAX_SESSIONS",
    "AK_SESSION__ACME",
    "AK_RUNNER__BUSY",
    "AK_API__PORT",
]
# What an environment variable can hold: no NUL, no lone surrogates.
_ENV_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
_JSONISH = st.one_of(
    _ENV_TEXT,
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=8,
    ).map(json.dumps),
)


@hypothesis_settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.dictionaries(st.sampled_from(_VARIABLES), _JSONISH, min_size=1, max_size=3))
@example(values={"AK_SESSION": '{"\\n": null}'})  # a key with a newline once made a two-line message
@example(values={"AK_SESSION__REDIS": '{"\\n": 1}', "AK_SESSION__TYPE": "in_memory"})
def test_garbage_in_the_settings_is_a_config_error_or_nothing(values: dict[str, str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.upper().startswith("AK_")]:
            patch.delenv(name)
        for name, value in values.items():
            patch.setenv(name, value)
        try:
            open_store(load_settings().session)
            message = "ok"
        except ConfigError as exc:
            message = str(exc)
        assert message and "\n" not in message
