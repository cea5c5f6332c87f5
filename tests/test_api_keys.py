"""API keys must each name one user: duplicates and blank keys are refused, naming the setting."""

from __future__ import annotations

import pytest

from agentkernel import ConfigError
from agentkernel.settings import load_settings


@pytest.mark.parametrize(
    ("keys", "why"),
    [
        ({"alice": "k-1", "bob": "k-1"}, "same API key"),
        ({"alice": ""}, "blank"),
        ({"alice": "   "}, "blank"),
    ],
)
def test_duplicate_or_blank_api_keys_are_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, keys: dict[str, str], why: str
) -> None:
    import json

    monkeypatch.setenv("AK_API__KEYS", json.dumps(keys))
    with pytest.raises(ConfigError, match="AK_API__KEYS") as raised:
        load_settings()
    assert why in str(raised.value)
    assert "k-1" not in str(raised.value), "the error must not print the secret"


def test_distinct_keys_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AK_API__KEYS", '{"alice": "k-1", "bob": "k-2"}')
    assert set(load_settings().api.keys) == {"alice", "bob"}
