"""agentkernel: sessions that several agent frameworks share, stored safely.

Example:
    >>> from agentkernel import Runner, Session
    >>> from agentkernel.testing import ScriptedAgent
    >>> runner = Runner()
    >>> session = Session(id="user-123")
    >>> runner.run_sync(ScriptedAgent("greeter", replies=["Hello!"]), session, "Hi").output
    'Hello!'
    >>> session.turn_count
    1
"""

from agentkernel.adapter import Adapter, AdapterResult, RunContext, RunEvent, StreamingAdapter
from agentkernel.errors import (
    AdapterNotFound,
    AgentKernelError,
    AgentNotFound,
    AgentRunError,
    ConfigError,
    CorruptSession,
    InvalidSessionId,
    InvalidValue,
    LeaseLost,
    MissingDependency,
    ReadOnlyNamespace,
    SessionBusy,
    SessionConflict,
    SessionNotFound,
    SessionTooLarge,
    StoreUnavailable,
)
from agentkernel.registry import AgentRegistry, AgentSpec
from agentkernel.runner import Runner
from agentkernel.session import SHARED_NAMESPACE, SYSTEM_NAMESPACE, Namespace, Session
from agentkernel.sessions import Sessions
from agentkernel.settings import Settings, load_settings
from agentkernel.stores import InMemoryStore, SessionChange, SessionMeta, SessionPage, SessionStore, open_store
from agentkernel.transcript import Message, Step, Turn, TurnError, Usage

__version__ = "0.1.0"

__all__ = [
    "SHARED_NAMESPACE",
    "SYSTEM_NAMESPACE",
    "Adapter",
    "AdapterNotFound",
    "AdapterResult",
    "AgentKernelError",
    "AgentNotFound",
    "AgentRegistry",
    "AgentRunError",
    "AgentSpec",
    "ConfigError",
    "CorruptSession",
    "InMemoryStore",
    "InvalidSessionId",
    "InvalidValue",
    "Message",
    "MissingDependency",
    "Namespace",
    "ReadOnlyNamespace",
    "RunContext",
    "RunEvent",
    "Runner",
    "Session",
    "LeaseLost",
    "SessionBusy",
    "SessionChange",
    "SessionConflict",
    "SessionMeta",
    "SessionNotFound",
    "SessionPage",
    "SessionStore",
    "SessionTooLarge",
    "Sessions",
    "Settings",
    "Step",
    "StoreUnavailable",
    "StreamingAdapter",
    "Turn",
    "TurnError",
    "Usage",
    "__version__",
    "load_settings",
    "open_store",
]
