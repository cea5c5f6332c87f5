"""One settings root for everything: environment variables with prefix ``AK_``, ``__`` for nesting.

``AK_SESSION__TYPE=redis`` sets ``settings.session.type``; ``AK_SESSION__REDIS__URL=...`` sets an
option of the Redis store. A ``.env`` file in the working directory is read too. Each store
validates its own options when it is opened, so a misspelt option is an error, not ignored.

Library code reads settings only through :func:`load_settings`; it never reads ``os.environ``.

Example:
    >>> settings = load_settings()
    >>> settings.session.type
    'in_memory'
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, DotEnvSettingsSource, EnvSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from agentkernel.errors import ConfigError

__all__ = ["ApiSettings", "RunnerSettings", "SessionSettings", "Settings", "env_name", "load_settings"]


class SessionSettings(BaseModel):
    """Where sessions live (``AK_SESSION__*``).

    Store options go under the store's name: ``AK_SESSION__REDIS__URL``,
    ``AK_SESSION__DYNAMODB__TABLE_NAME``, ``AK_SESSION__IN_MEMORY__MAX_SESSIONS``, or
    ``AK_SESSION__<PLUGIN>__<OPTION>`` for a third-party store.
    """

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="in_memory", description="Store name: in_memory, redis, dynamodb or a plugin's name.")
    ttl: int = Field(default=0, ge=0, description="Seconds of inactivity before a session expires; 0 = never.")
    max_bytes: int = Field(
        default=32 * 1024 * 1024, ge=0, description="Cap on one session's encoded size in bytes; 0 = no cap."
    )
    in_memory: dict[str, Any] = Field(default_factory=dict)
    redis: dict[str, Any] = Field(default_factory=dict)
    dynamodb: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _extras_are_store_options(self) -> SessionSettings:
        for name, value in (self.model_extra or {}).items():
            if not isinstance(value, dict):
                raise ValueError(
                    f"unknown setting {env_name('session', name)}; known: TYPE, TTL, MAX_BYTES, "
                    "or AK_SESSION__<STORE>__<OPTION> for store options"
                )
        return self

    def store_options(self, store: str) -> dict[str, Any]:
        """The raw options given for ``store`` (validated by the store itself)."""
        if store in ("in_memory", "redis", "dynamodb"):
            options: dict[str, Any] = getattr(self, store)
            return options
        extra = (self.model_extra or {}).get(store, {})
        return dict(extra)


class RunnerSettings(BaseModel):
    """How runs on one session are serialised and committed (``AK_RUNNER__*``)."""

    model_config = ConfigDict(extra="forbid")

    busy: Literal["wait", "reject"] = Field(
        default="wait", description="When another run holds the session: wait for it (bounded) or reject at once."
    )
    busy_timeout: float = Field(default=30.0, ge=0, description="Seconds to wait for a busy session before giving up.")
    lease_ttl: float = Field(
        default=60.0, gt=0, description="Seconds a run's lease lasts unless renewed (a crashed worker frees it then)."
    )
    conflict: Literal["retry", "reject"] = Field(
        default="retry", description="On a version conflict at commit: run again on fresh state, or raise."
    )
    max_attempts: int = Field(default=3, ge=1, description="Attempts per run when conflict=retry.")
    history_turns: int = Field(default=50, ge=0, description="Earlier turns loaded and shown to the agent.")


class ApiSettings(BaseModel):
    """The HTTP front end (``AK_API__*``)."""

    model_config = ConfigDict(extra="forbid")

    keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='User id -> API key, as JSON: AK_API__KEYS=\'{"alice": "key-1"}\'. Empty: no auth.',
    )
    host: str = Field(default="127.0.0.1", description="Bind address of `agentkernel serve`.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port of `agentkernel serve`.")
    allow_public_without_keys: bool = Field(
        default=False, description="Allow binding a non-loopback address with no API keys configured."
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1, description="Largest accepted request body.")
    agents: str | None = Field(
        default=None,
        description="Module or file whose agents the HTTP service serves (`agentkernel serve MODULE` sets it).",
    )

    @field_validator("keys")
    @classmethod
    def _distinct_non_blank_keys(cls, keys: dict[str, SecretStr]) -> dict[str, SecretStr]:
        owners: dict[str, str] = {}
        for user, secret in keys.items():
            key = secret.get_secret_value()
            if not key.strip():
                raise ValueError(f"the API key of user {user!r} is blank; give every user a long random key")
            if key in owners:
                raise ValueError(
                    f"users {owners[key]!r} and {user!r} have the same API key; a key must identify one user"
                )
            owners[key] = user
        return keys


class Settings(BaseSettings):
    """The settings root. Build it with :func:`load_settings` for clear errors."""

    model_config = SettingsConfigDict(
        env_prefix="AK_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    session: SessionSettings = Field(default_factory=SessionSettings)
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)


def env_name(*loc: object) -> str:
    """The environment variable for a settings location, e.g. ``AK_SESSION__TTL``."""
    parts = (str(part).upper() for part in loc)
    # A key that came from JSON may hold anything; escape it so a message stays one line.
    return "AK_" + "__".join(p if p.isprintable() else p.encode("unicode_escape").decode("ascii") for p in parts)


def describe_validation_error(exc: ValidationError, *, prefix: tuple[object, ...] = ()) -> str:
    """One readable line per problem, each naming its environment variable."""
    lines = []
    for error in exc.errors():
        loc = prefix + tuple(part for part in error["loc"] if not isinstance(part, int) or part)
        got = error.get("input")
        secret = env_name(*loc).startswith(tuple(_SECRET_VARIABLES))
        shown = "" if secret or isinstance(got, dict) or got is None else f" (got {got!r})"
        lines.append(f"{env_name(*loc)}: {error['msg']}{shown}")
    return "; ".join(lines)


# The variables read as JSON (every other one is a plain string), and what each expects instead.
_JSON_VARIABLES: dict[str, str] = {
    "AK_SESSION": "a JSON object of session settings; set one setting as AK_SESSION__<NAME>, "
    "e.g. AK_SESSION__TYPE=redis",
    "AK_RUNNER": "a JSON object of runner settings; set one setting as AK_RUNNER__<NAME>, e.g. AK_RUNNER__BUSY=reject",
    "AK_API": "a JSON object of API settings; set one setting as AK_API__<NAME>, e.g. AK_API__PORT=8080",
    "AK_API__KEYS": 'a JSON object of user id -> API key, e.g. AK_API__KEYS=\'{"alice": "key-1"}\'',
    "AK_SESSION__IN_MEMORY": "a JSON object of in_memory store options; set one option as "
    "AK_SESSION__IN_MEMORY__<OPTION>, e.g. AK_SESSION__IN_MEMORY__MAX_SESSIONS=1000",
    "AK_SESSION__REDIS": "a JSON object of redis store options; set one option as AK_SESSION__REDIS__<OPTION>, "
    "e.g. AK_SESSION__REDIS__URL=redis://localhost:6379/0",
    "AK_SESSION__DYNAMODB": "a JSON object of dynamodb store options; set one option as "
    "AK_SESSION__DYNAMODB__<OPTION>, e.g. AK_SESSION__DYNAMODB__TABLE_NAME=sessions",
}
_SECRET_VARIABLES = frozenset({"AK_API", "AK_API__KEYS"})  # never echo their values


def _undecodable_json(settings_cls: type[Settings]) -> str:
    """Name the JSON variables that are not JSON, with what each expects (the environment wins over ``.env``)."""
    found: dict[str, str] = {}
    for source in (DotEnvSettingsSource(settings_cls), EnvSettingsSource(settings_cls)):
        for name, value in source.env_vars.items():
            if name.upper() in _JSON_VARIABLES and value is not None:
                found[name.upper()] = value
    problems = []
    for name, value in found.items():
        try:
            json.loads(value)
        except ValueError:
            shown = "" if name in _SECRET_VARIABLES else f" (got {value[:40]!r}{'...' if len(value) > 40 else ''})"
            problems.append(f"{name} is not valid JSON{shown}: it expects {_JSON_VARIABLES[name]}")
    return "; ".join(problems)


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and ``.env``, with ``overrides`` on top.

    Raises:
        ConfigError: a setting is invalid; the message names the variable and what it expects.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError("invalid settings: " + describe_validation_error(exc)) from None
    except SettingsError as exc:  # pydantic-settings could not decode a JSON variable
        detail = _undecodable_json(Settings) or f"{exc} ({exc.__cause__})"
        raise ConfigError("invalid settings: " + detail) from None
