"""Session stores, chosen by ``AK_SESSION__TYPE`` through the ``agentkernel.session_stores`` entry points.

The built-in stores register there exactly as a third party's would, so
``AK_SESSION__TYPE=acme`` selects a store from an installed ``acme`` plugin with no change here.
Everything a store receives or returns is a type of this package (:class:`SessionChange`,
:class:`StoredSession`, :class:`SessionMeta`, :class:`SessionPage`), already encoded or still
encoded; stores never import :mod:`agentkernel.session`. Optional abilities are sub-protocols
checked with a ``TypeGuard`` (:class:`SupportsSetup`, :func:`supports_setup`).
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from pydantic import BaseModel, ValidationError

from agentkernel.errors import ConfigError
from agentkernel.plugins import STORE_GROUP, list_plugins, load_plugin
from agentkernel.settings import SessionSettings, describe_validation_error
from agentkernel.stores.base import (
    SessionChange,
    SessionMeta,
    SessionPage,
    SessionStore,
    StoredSession,
    SupportsSetup,
    supports_setup,
)
from agentkernel.stores.memory import InMemoryStore

__all__ = [
    "InMemoryStore",
    "SessionChange",
    "SessionMeta",
    "SessionPage",
    "SessionStore",
    "StoreFactory",
    "StoredSession",
    "SupportsSetup",
    "known_stores",
    "open_store",
    "supports_setup",
]


class StoreFactory(Protocol):
    """What a ``agentkernel.session_stores`` entry point points at (usually the store class)."""

    options_model: type[BaseModel]

    def from_options(self, options: Any, *, ttl: float) -> SessionStore:
        """Build a store from its validated options."""
        ...


def known_stores() -> list[str]:
    """Names ``AK_SESSION__TYPE`` accepts. Imports nothing."""
    return [info.name for info in list_plugins(STORE_GROUP)]


def open_store(settings: SessionSettings) -> SessionStore:
    """Build the store that ``settings.type`` names, validating its options.

    Raises:
        ConfigError: the type is unknown (the message lists the known ones) or an option is
            misspelt or invalid (the message names the environment variable).
        MissingDependency: the store's extra is not installed.
    """
    known = known_stores()
    if settings.type not in known:
        raise ConfigError(
            f"AK_SESSION__TYPE={settings.type!r} is not a known session store; "
            f"choose one of: {', '.join(known)} (or install the plugin that provides it)"
        )
    strays = sorted(set(settings.model_extra or {}) - set(known))
    if strays:
        raise ConfigError(
            f"AK_SESSION__{strays[0].upper()}__* names no known session store; "
            f"store options go under one of: {', '.join(name.upper() for name in known)}"
        )
    factory = cast(StoreFactory, load_plugin(STORE_GROUP, settings.type))
    model = factory.options_model
    raw = settings.store_options(settings.type)
    try:
        options = model.model_validate(raw)
    except ValidationError as exc:
        valid = ", ".join(name.upper() for name in model.model_fields)
        raise ConfigError(
            f"invalid {settings.type} store options: "
            + describe_validation_error(exc, prefix=("session", settings.type))
            + f"; valid options: {valid}"
        ) from None
    return factory.from_options(options, ttl=settings.ttl)
