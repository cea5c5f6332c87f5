"""A LangGraph checkpointer whose storage is one agent's part of a session namespace.

:class:`NamespaceSaver` implements the :class:`~langgraph.checkpoint.base.BaseCheckpointSaver`
methods a compiled graph uses (sync and async). Everything it stores is JSON data and bytes, so
the session's codec takes it as it is and every store keeps it; checkpoint contents are encoded by
LangGraph's own :class:`~langgraph.checkpoint.serde.jsonplus.JsonPlusSerializer` with its pickle
fallback off.

Keys, all under the agent's ``prefix``::

    <prefix>index                      {ns: [[checkpoint id, {channel: version}], ...]}, oldest first
    <prefix>ckpt/<ns>/<id>             {"checkpoint": [type, bytes], "metadata": [type, bytes],
                                        "parent": id or null}
    <prefix>writes/<ns>/<id>           [[task id, channel, type, bytes, task path, idx], ...]
    <prefix>blob/<ns>/<channel>/<ver>  [type, bytes]

Channel values are stored once per version (as LangGraph's in-memory saver does), so a
checkpoint that leaves a channel unchanged costs nothing for it. Only the latest checkpoint and
``keep`` earlier ones of each checkpoint namespace are kept; older ones, their pending writes and
the channel values no kept checkpoint refers to are deleted as new checkpoints arrive.

Example:
    >>> from agentkernel import Session
    >>> saver = NamespaceSaver(Session("s1").namespace("langgraph"), thread_id="s1", prefix="bot/")
    >>> saver.get_tuple({"configurable": {"thread_id": "s1"}}) is None
    True
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import AsyncIterator, Iterator, MutableMapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from agentkernel_langgraph.options import DEFAULT_KEEP

__all__ = ["NamespaceSaver", "safe_serializer"]

_Typed = tuple[str, bytes]
_Entry = list[Any]  # [checkpoint id, {channel: version}]
_Index = dict[str, list[_Entry]]


def safe_serializer() -> JsonPlusSerializer:
    """LangGraph's serializer with the pickle fallback off: an unencodable value is an error."""
    return JsonPlusSerializer(pickle_fallback=False)


class NamespaceSaver(BaseCheckpointSaver[int]):
    """Checkpoints of one thread, kept in a session namespace (or any mutable mapping).

    The saver is made per run and never shared between sessions: give it to the graph through
    the run config (``config["configurable"]["__pregel_checkpointer"]``), not by assigning it
    onto a compiled graph that other sessions use.

    Args:
        state: Where to keep checkpoints; values written are JSON data and bytes.
        thread_id: The only thread this saver serves (the session id).
        prefix: Put in front of every key, so several graphs can share one namespace.
        keep: How many checkpoints to keep per checkpoint namespace besides the latest one.
        serde: The serializer; by default :func:`safe_serializer`.

    Raises:
        ValueError: ``keep`` is negative.
    """

    def __init__(
        self,
        state: MutableMapping[str, Any],
        *,
        thread_id: str,
        prefix: str = "",
        keep: int = DEFAULT_KEEP,
        serde: SerializerProtocol | None = None,
    ) -> None:
        if keep < 0:
            raise ValueError(f"keep must be 0 or more earlier checkpoints, got {keep}")
        super().__init__(serde=serde or safe_serializer())
        self.state = state
        self.thread_id = thread_id
        self.prefix = prefix
        self.keep = keep
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ keys
    def _key(self, *parts: str) -> str:
        return self.prefix + "/".join(parts)

    def _index(self) -> _Index:
        index: _Index = self.state.get(self._key("index"), {})
        return index

    def _check_thread(self, config: RunnableConfig) -> str:
        thread_id = str(config.get("configurable", {}).get("thread_id", ""))
        if thread_id != self.thread_id:
            raise ValueError(
                f"this checkpointer serves thread {self.thread_id!r} (its session) only, "
                f"not {thread_id!r}; run the graph through agentkernel's Runner"
            )
        return thread_id

    # ------------------------------------------------------------------ read
    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names, or the thread's latest one; ``None`` if there is none."""
        configurable = config.get("configurable", {})
        if str(configurable.get("thread_id", "")) != self.thread_id:
            return None
        ns = str(configurable.get("checkpoint_ns", ""))
        with self._lock:
            checkpoint_id = get_checkpoint_id(config)
            if not checkpoint_id:
                entries = self._index().get(ns)
                if not entries:
                    return None
                checkpoint_id = str(entries[-1][0])
            return self._load(ns, checkpoint_id)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """The kept checkpoints, newest first, filtered as LangGraph's savers filter them."""
        with self._lock:
            found = list(self._select(config, filter=filter, before=before, limit=limit))
        yield from found

    def _select(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Iterator[CheckpointTuple]:
        configurable = config.get("configurable", {}) if config else {}
        if config is not None and str(configurable.get("thread_id", "")) != self.thread_id:
            return
        only_ns = configurable.get("checkpoint_ns")
        only_id = get_checkpoint_id(config) if config else None
        before_id = get_checkpoint_id(before) if before else None
        remaining = limit
        for ns, entries in self._index().items():
            if only_ns is not None and ns != only_ns:
                continue
            for entry in reversed(entries):
                checkpoint_id = str(entry[0])
                if only_id and checkpoint_id != only_id:
                    continue
                if before_id and checkpoint_id >= before_id:
                    continue
                found = self._load(ns, checkpoint_id)
                if found is None:
                    continue
                if filter and not all(found.metadata.get(k) == v for k, v in filter.items()):
                    continue
                if remaining is not None:
                    if remaining <= 0:
                        return
                    remaining -= 1
                yield found

    def _load(self, ns: str, checkpoint_id: str) -> CheckpointTuple | None:
        record = self.state.get(self._key("ckpt", ns, checkpoint_id))
        if record is None:
            return None
        checkpoint: Checkpoint = self.serde.loads_typed(_typed(record["checkpoint"]))
        values: dict[str, Any] = {}
        for channel, version in checkpoint["channel_versions"].items():
            blob = self.state.get(self._key("blob", ns, channel, str(version)))
            if blob is not None and blob[0] != "empty":
                values[channel] = self.serde.loads_typed(_typed(blob))
        stored_writes = sorted(
            self.state.get(self._key("writes", ns, checkpoint_id), []),
            key=lambda w: writes_sort_key(w[4], w[0], w[5]),
        )
        pending: builtins.list[PendingWrite] = [
            (w[0], w[1], self.serde.loads_typed((w[2], w[3]))) for w in stored_writes
        ]
        parent = record.get("parent")
        return CheckpointTuple(
            config=self._config(ns, checkpoint_id),
            checkpoint={**checkpoint, "channel_values": values},
            metadata=self.serde.loads_typed(_typed(record["metadata"])),
            parent_config=self._config(ns, parent) if parent else None,
            pending_writes=pending,
        )

    def _config(self, ns: str, checkpoint_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": self.thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}}

    # ----------------------------------------------------------------- write
    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint and the channel values that changed in it, then drop old ones.

        Raises:
            ValueError: ``config`` names another thread.
            TypeError: a value cannot be encoded without pickle (ormsgpack's encode error).
        """
        self._check_thread(config)
        configurable = config["configurable"]
        ns = str(configurable.get("checkpoint_ns", ""))
        bare = {k: v for k, v in checkpoint.items() if k != "channel_values"}
        values = checkpoint["channel_values"]
        encoded_values = {
            channel: self._encode(values[channel], f"channel {channel!r}") if channel in values else ["empty", b""]
            for channel in new_versions
        }
        record = {
            "checkpoint": self._encode(bare, "the checkpoint"),
            "metadata": self._encode(get_checkpoint_metadata(config, metadata), "the checkpoint metadata"),
            "parent": configurable.get("checkpoint_id"),
        }
        with self._lock:
            for channel, version in new_versions.items():
                self.state[self._key("blob", ns, channel, str(version))] = encoded_values[channel]
            self.state[self._key("ckpt", ns, checkpoint["id"])] = record
            index = self._index()
            entries = [e for e in index.get(ns, []) if e[0] != checkpoint["id"]]
            entries.append([checkpoint["id"], dict(checkpoint["channel_versions"])])
            index[ns] = self._trim(ns, entries)
            self.state[self._key("index")] = index
        return self._config(ns, checkpoint["id"])

    def _encode(self, value: Any, what: str) -> builtins.list[Any]:
        try:
            return list(self.serde.dumps_typed(value))
        except TypeError as exc:  # ormsgpack's encode error; pickle is never the fallback
            raise TypeError(
                f"cannot store {what} of the graph's state without pickle: {exc}; keep graph state to "
                "JSON-like data, LangChain messages, pydantic models, dataclasses or enums"
            ) from exc

    def _trim(self, ns: str, entries: builtins.list[_Entry]) -> builtins.list[_Entry]:
        """Drop all but the newest ``keep + 1`` checkpoints and what only they referred to."""
        if len(entries) <= self.keep + 1:
            return entries
        dropped, kept = entries[: -(self.keep + 1)], entries[-(self.keep + 1) :]
        referenced = {(channel, str(version)) for _, versions in kept for channel, version in versions.items()}
        for checkpoint_id, versions in dropped:
            self.state.pop(self._key("ckpt", ns, checkpoint_id), None)
            self.state.pop(self._key("writes", ns, checkpoint_id), None)
            for channel, version in versions.items():
                if (channel, str(version)) not in referenced:
                    self.state.pop(self._key("blob", ns, channel, str(version)), None)
        return kept

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store writes a task made on top of a checkpoint (kept until that checkpoint is dropped).

        Raises:
            ValueError: ``config`` names another thread.
        """
        self._check_thread(config)
        configurable = config["configurable"]
        ns = str(configurable.get("checkpoint_ns", ""))
        key = self._key("writes", ns, str(configurable["checkpoint_id"]))
        with self._lock:
            stored: builtins.list[_Entry] = self.state.get(key, [])
            by_slot = {(w[0], w[5]): w for w in stored}
            for position, (channel, value) in enumerate(writes):
                idx = WRITES_IDX_MAP.get(channel, position)
                if idx >= 0 and (task_id, idx) in by_slot:
                    continue  # a retried task does not overwrite its first writes
                kind, data = self._encode(value, f"a write to channel {channel!r}")
                by_slot[(task_id, idx)] = [task_id, channel, kind, data, task_path, idx]
            self.state[key] = list(by_slot.values())

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, write and value of the thread."""
        if thread_id != self.thread_id:
            return
        with self._lock:
            for key in [k for k in self.state if k.startswith(self.prefix)]:
                del self.state[key]

    # ------------------------------------------------------------------ async
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async :meth:`get_tuple` (the storage is in memory until the runner commits)."""
        return self.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async :meth:`list`."""
        for found in self.list(config, filter=filter, before=before, limit=limit):
            yield found

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async :meth:`put`."""
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async :meth:`put_writes`."""
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """Async :meth:`delete_thread`."""
        self.delete_thread(thread_id)


def _typed(stored: Sequence[Any]) -> _Typed:
    return str(stored[0]), bytes(stored[1])
