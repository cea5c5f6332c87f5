"""The Redis session store (``AK_SESSION__TYPE=redis``, extra ``agentkernel[redis]``).

Example:
    >>> from agentkernel.stores.redis import RedisStore
    >>> store = RedisStore.from_url("redis://localhost:6379/0", ttl=3600)  # doctest: +SKIP
"""

from agentkernel.stores.redis._store import RedisOptions, RedisStore

__all__ = ["RedisOptions", "RedisStore"]
