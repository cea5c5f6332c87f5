"""The pytest warning filters (pyproject.toml): our deprecations fail, known third-party noise is hidden.

pytest applies those filters around every test, so warnings raised here meet them exactly as a
warning from the code under test would.
"""

from __future__ import annotations

import warnings

import pytest


def _warn(message: str, category: type[Warning], module: str) -> list[warnings.WarningMessage]:
    """Raise ``message`` as if from ``module``; return what was shown (not filtered out)."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.warn_explicit(message, category, f"{module.replace('.', '/')}.py", 1, module=module, registry={})
    return shown


@pytest.mark.parametrize("module", ["agentkernel.runner", "agentkernel_crewai._adapter"])
@pytest.mark.parametrize("category", [DeprecationWarning, PendingDeprecationWarning])
def test_a_deprecation_warning_of_ours_fails(module: str, category: type[Warning]) -> None:
    with pytest.raises(category, match="use the new thing"):
        _warn("use the new thing", category, module)


@pytest.mark.parametrize(
    ("message", "category", "module"),
    [
        (
            "function_calling_llm is deprecated and will be removed in a future release.",
            DeprecationWarning,
            "crewai.crew",
        ),
        ("deprecated", DeprecationWarning, "crewai.agent.core"),
        ("function callbacks cannot be serialized and will prevent checkpointing.", UserWarning, "pydantic.main"),
    ],
)
def test_known_third_party_warnings_are_hidden(message: str, category: type[Warning], module: str) -> None:
    assert _warn(message, category, module) == []


@pytest.mark.parametrize(
    ("message", "category", "module"),
    [
        ("something else is deprecated", DeprecationWarning, "crewai.crew"),  # same module, new message
        ("deprecated", DeprecationWarning, "langgraph.graph"),  # same message, another library
        ("a brand-new warning", UserWarning, "somelib"),
    ],
)
def test_any_other_warning_is_still_shown(message: str, category: type[Warning], module: str) -> None:
    assert [str(shown.message) for shown in _warn(message, category, module)] == [message]
