"""The Redis session store: sessions several processes and hosts share, with redis-py's asyncio client.

Each session lives in a few keys under its owner's hash tag, beside the owner's listing index (see
:mod:`agentkernel.stores.redis._keys`), so one Lua script commits a whole change atomically, even on
Redis Cluster: it checks the version and the life, clears, deletes, updates, appends turns with
``RPUSH`` (never rewriting earlier ones), writes the header, refreshes the TTL of every key and
updates the listing, or writes nothing. Loads are one script too, so they see
one consistent version. Needs Redis 6.2 or newer.

Example:
    >>> store = RedisStore.from_url("redis://localhost:6379/0", ttl=3600)  # doctest: +SKIP
    >>> async with store:  # doctest: +SKIP
    ...     page = await store.list_sessions("alice")
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from agentkernel._optional import require
from agentkernel.errors import CorruptSession, SessionConflict
from agentkernel.stores.base import SessionChange, SessionMeta, SessionPage, StoredSession, decode_cursor, encode_cursor
from agentkernel.stores.redis._errors import redact_url, translate_errors
from agentkernel.stores.redis._keys import SessionKeys, user_index_key
from agentkernel.stores.redis._scripts import (
    ACQUIRE_LEASE,
    COMMIT,
    DELETE,
    INDEX_REMOVE,
    LOAD,
    RELEASE_LEASE,
    RENEW_LEASE,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisOptions", "RedisStore"]

logger = logging.getLogger(__name__)

_SCHEMES = ("redis://", "rediss://", "unix://")


class RedisOptions(BaseModel):
    """Options of the Redis store (``AK_SESSION__REDIS__*``)."""

    model_config = ConfigDict(extra="forbid")

    url: SecretStr = Field(
        default=SecretStr("redis://localhost:6379/0"),
        description="Server URL: redis://[user:password@]host:port/db, rediss:// for TLS, or unix:///path.",
    )
    password: SecretStr | None = Field(default=None, description="Password, if not given in the URL.")
    prefix: str = Field(default="ak:", description="Prepended to every key, so several apps can share one database.")
    max_connections: int = Field(default=50, ge=1, description="Connection pool size per process.")
    socket_timeout: float = Field(default=5.0, gt=0, description="Seconds to wait for a reply before StoreUnavailable.")
    socket_connect_timeout: float = Field(default=2.0, gt=0, description="Seconds to wait for a connection.")
    retries: int = Field(default=1, ge=0, description="Retries of a call that failed to connect or timed out.")
    health_check_interval: float = Field(
        default=30.0, ge=0, description="Seconds after which an idle connection is checked before use; 0: never."
    )
    ssl_ca_certs: str | None = Field(default=None, description="CA bundle for rediss:// servers with a private CA.")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: SecretStr) -> SecretStr:
        if not url.get_secret_value().startswith(_SCHEMES):
            raise ValueError("use a redis://, rediss:// or unix:// URL")
        return url

    @field_validator("prefix")
    @classmethod
    def _no_braces(cls, prefix: str) -> str:
        if "{" in prefix or "}" in prefix:
            raise ValueError("the prefix may not contain { or } (they delimit Redis Cluster hash tags)")
        return prefix


def _redis() -> Any:
    return require("redis.asyncio", extra="redis", feature="the Redis session store")


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisStore:
    """Sessions in Redis, safe to share between processes and hosts.

    Args:
        client: A ``redis.asyncio.Redis`` (or ``RedisCluster``) client. The caller owns it and
            closes it; use :meth:`from_url` for a store that owns its client.
        ttl: Seconds of inactivity after which a session expires (0: never).
        prefix: Prepended to every key.

    Example:
        >>> import redis.asyncio
        >>> store = RedisStore(redis.asyncio.Redis(), ttl=3600)
    """

    options_model = RedisOptions

    def __init__(self, client: Redis, *, ttl: float = 0, prefix: str = "ak:") -> None:
        _redis()
        RedisOptions(prefix=prefix)  # the same checks as settings
        self._client = client
        self._ttl = ttl
        self._prefix = prefix
        self._owns_client = False
        self._where = _describe(client)
        self._commit = client.register_script(COMMIT)
        self._load = client.register_script(LOAD)
        self._delete = client.register_script(DELETE)
        self._acquire = client.register_script(ACQUIRE_LEASE)
        self._renew = client.register_script(RENEW_LEASE)
        self._release = client.register_script(RELEASE_LEASE)
        self._index_remove = client.register_script(INDEX_REMOVE)

    @classmethod
    def from_url(cls, url: str = "redis://localhost:6379/0", *, ttl: float = 0, **options: Any) -> RedisStore:
        """A store with a client of its own, closed by :meth:`aclose`.

        Connecting happens on first use, so a server that is down shows up as
        :class:`~agentkernel.errors.StoreUnavailable` from the first call, not here.

        Args:
            url: The server URL (the ``url`` option).
            ttl: Seconds of inactivity after which a session expires (0: never).
            **options: Any other field of :class:`RedisOptions` (``prefix``, ``password``,
                ``max_connections``, ...), checked as settings are.

        Raises:
            MissingDependency: redis-py is not installed.
            pydantic.ValidationError: an option is unknown or invalid.
        """
        return cls.from_options(RedisOptions(url=SecretStr(url), **options), ttl=ttl)

    @classmethod
    def from_options(cls, options: RedisOptions, *, ttl: float) -> RedisStore:
        """A store with a client of its own, built from validated options (every field is used here)."""
        aioredis = _redis()
        from redis.asyncio.retry import Retry  # the asyncio client needs the asyncio Retry
        from redis.backoff import ExponentialWithJitterBackoff

        url = options.url.get_secret_value()
        kwargs: dict[str, Any] = {
            "max_connections": options.max_connections,
            "socket_timeout": options.socket_timeout,
            "socket_connect_timeout": options.socket_connect_timeout,
            "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), options.retries),
            "health_check_interval": options.health_check_interval,
        }
        if options.password is not None:
            kwargs["password"] = options.password.get_secret_value()
        if options.ssl_ca_certs is not None:
            kwargs["ssl_ca_certs"] = options.ssl_ca_certs
        store = cls(aioredis.Redis.from_url(url, **kwargs), ttl=ttl, prefix=options.prefix)
        store._owns_client = True
        store._where = redact_url(url)
        return store

    @property
    def client(self) -> Redis:
        """The redis-py client in use."""
        return self._client

    def keys(self, user_id: str, session_id: str) -> SessionKeys:
        """The Redis keys of ``user_id``'s session ``session_id`` (see :mod:`agentkernel.stores.redis._keys`)."""
        return SessionKeys.of(self._prefix, user_id, session_id)

    # ------------------------------------------------------------ sessions
    async def load(self, user_id: str, session_id: str, *, last_turns: int | None = None) -> StoredSession | None:
        """See :meth:`SessionStore.load`. One script reads header, state and turns together.

        Raises:
            CorruptSession: a record is unreadable, or the session lost some of its keys.
        """
        keys = self.keys(user_id, session_id)
        wanted = -1 if last_turns is None else max(0, last_turns)
        with translate_errors(self._where, f"load session {session_id!r}", session_id):
            reply = await self._load(keys=keys.script_keys, args=[keys.base, wanted])
        if reply is None:
            return None
        if _text(reply[0]) == "corrupt":
            raise CorruptSession(session_id, _text(reply[1]))
        _, record, total, turns, flat_state = reply
        if record is None:
            raise CorruptSession(session_id, "the header hash has no record")
        meta = SessionMeta.from_record(record, session_id=session_id, user_id=user_id)
        if total != meta.turn_count:
            raise CorruptSession(
                session_id, f"the transcript holds {total} turns but the header counts {meta.turn_count}"
            )
        values: dict[str, dict[str, str]] = {}  # text, as sessions measure sizes in characters
        try:
            for name, pairs in zip(flat_state[::2], flat_state[1::2], strict=True):
                values[_text(name)] = {_text(k): _text(v) for k, v in zip(pairs[::2], pairs[1::2], strict=True)}
        except UnicodeDecodeError as exc:
            raise CorruptSession(session_id, f"a namespace holds bytes that are not UTF-8: {exc}") from None
        return StoredSession(meta, values, turns)

    async def commit(self, change: SessionChange) -> None:
        """See :meth:`SessionStore.commit`. One Lua script, checked before it writes anything.

        The owner's listing index shares the session's slot, so the same script updates it.
        """
        sid = change.session_id
        keys = self.keys(change.user_id, sid)
        with translate_errors(self._where, f"commit to session {sid!r}", sid, ambiguous=True):
            reply = await self._commit(keys=keys.script_keys, args=self._commit_args(keys, change))
        status = _text(reply[0])
        if status == "conflict":
            actual = int(reply[1])
            raise SessionConflict(sid, change.expected_version, actual or None, another_life=len(reply) > 2)
        if status == "corrupt":
            raise CorruptSession(sid, _text(reply[1]))

    def _commit_args(self, keys: SessionKeys, change: SessionChange) -> list[str | bytes | int]:
        meta = change.meta
        args: list[str | bytes | int] = [
            keys.base,
            change.expected_version,
            meta.version,
            change.commit_id,
            change.header,
            _ms(self._ttl) if self._ttl else 0,
            1 if change.clear_transcript else 0,
            meta.turn_count,
            change.expected_life,
            meta.life,
            repr(meta.updated_at),
            meta.id,
        ]
        args.append(len(change.cleared_namespaces))
        args.extend(sorted(change.cleared_namespaces))
        args.append(len(change.deleted))
        for name, deleted in change.deleted.items():
            args.extend([name, len(deleted), *deleted])
        args.append(len(change.updated))
        for name, updates in change.updated.items():
            args.extend([name, len(updates)])
            for key, raw in updates.items():
                args.extend([key, raw])
        args.append(len(change.turns))
        args.extend(change.turns)
        return args

    async def delete(self, user_id: str, session_id: str) -> bool:
        """See :meth:`SessionStore.delete`. Removes every key of the session and its listing entry.

        Works on a corrupt session, and on what remains of one that lost some of its keys. A run
        lease, if one is held, is left to expire on its own.
        """
        keys = self.keys(user_id, session_id)
        with translate_errors(self._where, f"delete session {session_id!r}", session_id, ambiguous=True):
            existed, _ = await self._delete(keys=keys.script_keys, args=[keys.base, session_id])
        return bool(existed)

    async def _unlist(self, user_id: str, session_id: str, score: float) -> None:
        await self._index_remove(keys=[user_index_key(self._prefix, user_id)], args=[session_id, repr(score)])

    # ------------------------------------------------------------- listing
    async def list_sessions(self, user_id: str, *, limit: int = 50, cursor: str | None = None) -> SessionPage:
        """See :meth:`SessionStore.list_sessions`.

        Reads the user's index newest first and checks each entry against the session's header,
        skipping (and dropping) entries of sessions that expired, were deleted or changed owner.
        Sessions with equal ``updated_at`` come in descending id order.
        """
        position = decode_cursor(cursor)
        index = user_index_key(self._prefix, user_id)
        found: list[tuple[float, SessionMeta]] = []
        with translate_errors(self._where, f"list the sessions of user {user_id!r}"):
            while len(found) <= limit:
                want = limit + 1 - len(found)
                batch = await self._index_page(index, position, want)
                headers = await self._headers(user_id, [sid for sid, _ in batch])
                for (sid, score), meta in zip(batch, headers, strict=True):
                    position = (score, sid)
                    if isinstance(meta, CorruptSession):
                        logger.warning("listing skips session %s: %s", sid, meta)
                    elif meta is None or meta.user_id != user_id:
                        await self._unlist(user_id, sid, score)
                    else:
                        found.append((score, meta))
                if len(batch) < want:
                    break
        page = found[:limit]
        more = len(found) > limit and bool(page)
        return SessionPage(
            [meta for _, meta in page],
            encode_cursor(page[-1][0], page[-1][1].id) if more else None,
        )

    async def _index_page(self, index: str, after: tuple[float, str] | None, want: int) -> list[tuple[str, float]]:
        """Up to ``want`` index entries after ``after`` in (score desc, id desc) order."""
        rows: list[tuple[str, float]] = []
        if after is None:
            upper = "+inf"
        else:
            score, last = after
            ties = cast("list[bytes]", await self._client.zrangebyscore(index, repr(score), repr(score)))
            rows = [(sid, score) for sid in sorted((_text(t) for t in ties), reverse=True) if sid < last]
            upper = "(" + repr(score)
        if len(rows) < want:
            reply = await self._client.zrevrangebyscore(
                index, upper, "-inf", start=0, num=want - len(rows), withscores=True
            )
            more = cast("list[tuple[bytes, float]]", reply)
            rows.extend((_text(sid), float(score)) for sid, score in more)
        return rows[:want]

    async def _headers(self, user_id: str, session_ids: Sequence[str]) -> list[SessionMeta | CorruptSession | None]:
        """The headers of ``session_ids``: decoded, the error of an unreadable one, or ``None`` if gone."""
        if not session_ids:
            return []
        from redis import exceptions as rx

        async with self._client.pipeline(transaction=False) as pipe:
            for sid in session_ids:
                pipe.hget(self.keys(user_id, sid).meta, "record")
            records = await pipe.execute(raise_on_error=False)
        out: list[SessionMeta | CorruptSession | None] = []
        for sid, record in zip(session_ids, records, strict=True):
            if isinstance(record, rx.ResponseError) and str(record).startswith("WRONGTYPE"):
                out.append(CorruptSession(sid, "its header key holds the wrong type of value"))
            elif isinstance(record, BaseException):
                raise record
            elif record is None:
                out.append(None)
            else:
                try:
                    out.append(SessionMeta.from_record(record, session_id=sid, user_id=user_id))
                except CorruptSession as exc:
                    out.append(exc)
        return out

    # --------------------------------------------------------------- lease
    async def acquire_lease(self, user_id: str, session_id: str, token: str, ttl: float) -> bool:
        """See :meth:`SessionStore.acquire_lease`: ``SET NX PX``, or an extension for the same token."""
        lease = self.keys(user_id, session_id).lease
        with translate_errors(self._where, f"take the lease of session {session_id!r}", ambiguous=True):
            return bool(await self._acquire(keys=[lease], args=[token, _ms(ttl)]))

    async def renew_lease(self, user_id: str, session_id: str, token: str, ttl: float) -> bool:
        """See :meth:`SessionStore.renew_lease`: extends only if ``token`` still holds it (atomic)."""
        lease = self.keys(user_id, session_id).lease
        with translate_errors(self._where, f"renew the lease of session {session_id!r}", ambiguous=True):
            return bool(await self._renew(keys=[lease], args=[token, _ms(ttl)]))

    async def lease_remaining(self, user_id: str, session_id: str) -> float | None:
        """See :meth:`SupportsLeaseInfo.lease_remaining`: the lease key's ``PTTL``."""
        with translate_errors(self._where, f"read the lease of session {session_id!r}"):
            left = int(await self.client.pttl(self.keys(user_id, session_id).lease))
        return left / 1000 if left > 0 else None

    async def release_lease(self, user_id: str, session_id: str, token: str) -> bool:
        """See :meth:`SessionStore.release_lease`: deletes only if ``token`` still holds it (atomic)."""
        lease = self.keys(user_id, session_id).lease
        with translate_errors(self._where, f"release the lease of session {session_id!r}", ambiguous=True):
            return bool(await self._release(keys=[lease], args=[token]))

    # ----------------------------------------------------------- lifecycle
    async def aclose(self) -> None:
        """Close the client if this store made it (:meth:`from_url`); a caller's client stays open."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> RedisStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"RedisStore({self._where}, prefix={self._prefix!r}, ttl={self._ttl})"


def _describe(client: Any) -> str:
    """``host:port`` of a caller's client, for messages (never its password)."""
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {})
    if "path" in kwargs:
        return f"unix:{kwargs['path']}"
    if "host" in kwargs:
        return f"{kwargs['host']}:{kwargs.get('port', 6379)}"
    return type(client).__name__
