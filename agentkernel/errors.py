"""Every error agentkernel raises, under one root.

Catch ``AgentKernelError`` to handle all of them. The family::

    AgentKernelError
    ├── ConfigError            a setting is wrong or an extra is missing
    │   ├── MissingDependency  an optional package is not installed (also an ImportError)
    │   ├── AgentsLoadError    a module or file of agents cannot be imported or holds none
    │   └── TableMissing       the DynamoDB table does not exist (also a StoreUnavailable)
    ├── InvalidSessionId       a session id has the wrong length or characters (also a ValueError)
    ├── InvalidValue           a value is not JSON data or bytes (also a TypeError)
    ├── ReadOnlyNamespace      a write to the kernel's own namespace
    ├── SessionNotFound        no such session for this user (also a KeyError)
    ├── SessionConflict        a commit was made on a stale version; nothing was written
    ├── SessionBusy            another run holds the session's lease
    ├── LeaseLost              a run lost its lease before it committed; nothing was written
    ├── SessionTooLarge        a commit would take the session over its size cap
    │   └── CommitTooLarge     one DynamoDB commit would need more than 100 items
    ├── CorruptSession         a stored record cannot be decoded
    ├── StoreUnavailable       the backend is down, slow or refused the call; nothing was written
    │   └── TableMissing       (see above; also a ConfigError)
    ├── AgentNotFound          no agent registered under that name, or none at all (also a KeyError)
    ├── AdapterNotFound        no installed adapter recognises the agent object
    ├── AgentRunError          the agent's framework raised; carries the error turn
    └── ToolApprovalPending    an OpenAI Agents SDK run stopped for a tool approval (also a RuntimeError)

Most live here; ``AgentsLoadError`` is in :mod:`agentkernel.agents_loader`, ``TableMissing`` and
``CommitTooLarge`` in :mod:`agentkernel.stores.dynamodb`, ``ToolApprovalPending`` in
``agentkernel_openai_agents``. A test walks every subclass of ``AgentKernelError`` and fails if
one is missing from this tree.

Every message says what to do next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentkernel.transcript import Turn

__all__ = [
    "AdapterNotFound",
    "AgentKernelError",
    "AgentNotFound",
    "AgentRunError",
    "ConfigError",
    "CorruptSession",
    "InvalidSessionId",
    "InvalidValue",
    "LeaseLost",
    "MissingDependency",
    "ReadOnlyNamespace",
    "SessionBusy",
    "SessionConflict",
    "SessionNotFound",
    "SessionTooLarge",
    "StoreUnavailable",
]


class AgentKernelError(Exception):
    """Root of every error raised by agentkernel."""


class ConfigError(AgentKernelError):
    """A setting is missing, misspelt or has a value outside its range."""


class MissingDependency(ConfigError, ImportError):
    """An optional dependency is needed but not installed.

    The message carries the ``pip install`` command that fixes it.
    """


class InvalidSessionId(AgentKernelError, ValueError):
    """A session id is empty, too long or has characters outside ``[A-Za-z0-9._:-]``."""


class InvalidValue(AgentKernelError, TypeError):
    """A value set into a session is not JSON data or bytes. The message names the key."""


class ReadOnlyNamespace(AgentKernelError):
    """A write was attempted on the kernel's own, read-only namespace."""


class SessionNotFound(AgentKernelError, KeyError):
    """No session with this id exists for this user (or it has expired)."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(
            f"session {session_id!r} not found (this user has no session of that id: it never existed, "
            "expired or was deleted); start a new session or check the id"
        )

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class SessionConflict(AgentKernelError):
    """A commit expected one version but the store holds another. Nothing was written."""

    def __init__(self, session_id: str, expected: int, actual: int | None, *, another_life: bool = False) -> None:
        self.session_id = session_id
        self.expected = expected
        self.actual = actual
        self.another_life = another_life
        held = "does not exist" if actual is None else f"is at version {actual}"
        if another_life:
            held = f"was deleted or expired and created again since (now at version {actual})"
        super().__init__(
            f"session {session_id!r} changed while this change was prepared: expected version "
            f"{expected}, but it {held}; reload the session and apply the change again"
        )


class SessionBusy(AgentKernelError):
    """Another run holds this session's lease."""

    def __init__(self, session_id: str, retry_after: float) -> None:
        self.session_id = session_id
        self.retry_after = retry_after
        super().__init__(
            f"session {session_id!r} is busy with another run; retry in about "
            f"{retry_after:.1f}s, or set AK_RUNNER__BUSY=wait to queue runs"
        )


class LeaseLost(AgentKernelError):
    """A run lost its session's lease (it expired, or the store failed past its expiry) and stopped.

    The framework's work was cancelled and nothing of the run was committed. Retrying is safe.
    """

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(
            f"the run on session {session_id!r} lost its lease before it could commit (the lease expired "
            "while the run was blocked or the store failed); nothing was written; retry the request, and "
            "raise AK_RUNNER__LEASE_TTL if runs block their event loop for long"
        )


class SessionTooLarge(AgentKernelError):
    """A commit would make the session larger than ``AK_SESSION__MAX_BYTES``. Nothing was written."""

    def __init__(self, session_id: str, size: int, limit: int) -> None:
        self.session_id = session_id
        self.size = size
        self.limit = limit
        super().__init__(
            f"session {session_id!r} would grow to {size} bytes, over the cap of {limit}; "
            "delete keys or start a new session, or raise AK_SESSION__MAX_BYTES"
        )


class CorruptSession(AgentKernelError):
    """A stored record of one session cannot be decoded. Other sessions are unaffected."""

    def __init__(self, session_id: str, detail: str) -> None:
        self.session_id = session_id
        self.detail = detail
        super().__init__(
            f"session {session_id!r} has a record that cannot be read ({detail}); "
            "export what is readable and delete the session, or upgrade agentkernel "
            "if a newer release wrote it"
        )


class StoreUnavailable(AgentKernelError):
    """The session store could not be reached or refused the call. Nothing was written."""


class AgentNotFound(AgentKernelError, KeyError):
    """No agent is registered under this name."""

    def __init__(self, name: str, known: list[str], message: str | None = None) -> None:
        self.name = name
        self.known = known
        listing = ", ".join(sorted(known)) or "none registered"
        super().__init__(message or f"no agent named {name!r}; known agents: {listing}")

    def __str__(self) -> str:
        return str(self.args[0])


class AdapterNotFound(AgentKernelError):
    """No installed adapter recognises an agent object."""


class AgentRunError(AgentKernelError):
    """The agent's framework raised during a run.

    The error turn was recorded in the session's transcript; the run's own state
    changes were not committed.

    Attributes:
        turn: The error turn, as committed to the transcript.
    """

    def __init__(self, message: str, turn: Turn) -> None:
        self.turn = turn
        super().__init__(message)
