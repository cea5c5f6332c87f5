"""Session stores, chosen by ``AK_SESSION__TYPE`` through the ``agentkernel.session_stores`` entry points.

The built-in stores register there exactly as a third party's would, so
``AK_SESSION__TYPE=acme`` selects a store from an installed ``acme`` plugin with no change here.
Everything a store receives or returns is a type of this package (:class:`SessionChange`,
:class:`StoredSession`, :class:`SessionMeta`, :class:`SessionPage`), already encoded or still
encoded; stores never import :mod:`agentkernel.session`. Optional abilities are sub-protocols
checked with a ``TypeGuard`` (:class:`SupportsSetup`, :func:`supports_setup`).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, cast

from pydantic import BaseModel, ValidationError

from agentkernel.errors import ConfigError
from agentkernel.plugins import STORE_GROUP, list_plugins, load_plugin
from agentkernel.settings import SessionSettings, describe_validation_error, env_name
from agentkernel.stores.base import (
    SessionChange,
    SessionMeta,
    SessionPage,
    SessionStore,
    StoredSession,
    SupportsLeaseInfo,
    SupportsSetup,
    supports_lease_info,
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
    "SupportsLeaseInfo",
    "SupportsSetup",
    "known_stores",
    "open_store",
    "supports_lease_info",
    "supports_setup",
]

logger = logging.getLogger(__name__)


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
            f"{env_name('session', strays[0])}__* names no known session store; "
            f"store options go under one of: {', '.join(name.upper() for name in known)}"
        )
    for other in known:
        if other != settings.type and settings.store_options(other):
            _check_unselected(settings, other)
    factory = cast(StoreFactory, load_plugin(STORE_GROUP, settings.type))
    options = _validated(settings, settings.type, factory.options_model)
    return factory.from_options(options, ttl=settings.ttl)


def _validated(settings: SessionSettings, store: str, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(settings.store_options(store))
    except ValidationError as exc:
        valid = ", ".join(name.upper() for name in model.model_fields)
        raise ConfigError(
            f"invalid {store} store options: "
            + describe_validation_error(exc, prefix=("session", store))
            + f"; valid options: {valid}"
        ) from None


def _check_unselected(settings: SessionSettings, store: str) -> None:
    """Refuse misspelt options of a store that is not selected; warn that its options are unused."""
    try:
        factory = cast(StoreFactory, load_plugin(STORE_GROUP, store))
    except ConfigError:
        factory = None  # its extra is missing or it is broken: its option names cannot be checked
    if factory is not None:
        _validated(settings, store, factory.options_model)
    names = ", ".join(env_name("session", store, name) for name in settings.store_options(store))
    logger.warning(
        "%s set but AK_SESSION__TYPE=%s, so %s ignored; set AK_SESSION__TYPE=%s to use the %s store",
        names,
        settings.type,
        "it is" if len(settings.store_options(store)) == 1 else "they are",
        store,
        store,
    )
