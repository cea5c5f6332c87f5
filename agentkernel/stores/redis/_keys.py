"""Where the Redis store keeps each part of a session: the key layout, in one place.

A session is stored under its owner and its id together. Every key of a user's sessions, and the
user's listing index, share the hash tag ``{<user id>}``, so on Redis Cluster they live in one
slot and one Lua script commits a session and updates the listing together (listing is exact:
never a session missing or left over because a second call failed)::

    <prefix>{<user>}/<session>/meta       hash: version, life, record (the header), turns (count),
                                          nss (namespace names), commit (recent ids)
    <prefix>{<user>}/<session>/turns      list: one turn record per item, oldest first (RPUSH only)
    <prefix>{<user>}/<session>/nsindex    set: names of the namespaces that hold at least one key
    <prefix>{<user>}/<session>/ns:<name>  hash: key -> value record, one hash per namespace
    <prefix>{<user>}/<session>/lease      string: the run lease's token, with its own expiry
    <prefix>{<user>}:sessions             sorted set: the user's session ids by updated_at

The header counts the turns and lists the namespaces, so a session that lost one of its keys (an
eviction, an operator's ``DEL``) is found out on load and on commit, and reported as corrupt.
Session and user ids cannot contain ``{``, ``}`` or ``/`` (they are validated), so the tag and
the session's part of a key are exact. (One user's sessions share a Cluster slot: a deployment
whose single users hold more data than one node can serve should shard by user upstream.)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SessionKeys", "user_index_key"]


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """The keys of one session.

    Attributes:
        base: The common stem, ``<prefix>{<user id>}/<session id>/``; namespace keys are
            ``base + "ns:" + name``.
        index: The owner's listing index (same hash tag, so the session scripts may update it).
    """

    base: str
    index: str

    @classmethod
    def of(cls, prefix: str, user_id: str, session_id: str) -> SessionKeys:
        """The keys of ``user_id``'s session ``session_id`` under ``prefix``."""
        return cls(f"{prefix}{{{user_id}}}/{session_id}/", user_index_key(prefix, user_id))

    @property
    def meta(self) -> str:
        """The header hash."""
        return self.base + "meta"

    @property
    def turns(self) -> str:
        """The transcript list."""
        return self.base + "turns"

    @property
    def nsindex(self) -> str:
        """The set of namespace names in use."""
        return self.base + "nsindex"

    @property
    def lease(self) -> str:
        """The run lease."""
        return self.base + "lease"

    def namespace(self, name: str) -> str:
        """The hash of one namespace."""
        return self.base + "ns:" + name

    @property
    def script_keys(self) -> list[str]:
        """The keys passed to the session scripts (namespace keys are derived inside, same slot)."""
        return [self.meta, self.turns, self.nsindex, self.index]


def user_index_key(prefix: str, user_id: str) -> str:
    """The sorted set listing ``user_id``'s sessions."""
    return f"{prefix}{{{user_id}}}:sessions"
