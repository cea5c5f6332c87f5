"""What the ``agentkernel`` commands share: error handling, output, settings, a runner on a loop."""

from __future__ import annotations

import datetime
import functools
import json
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer

from agentkernel.errors import AgentKernelError, ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from agentkernel._loop import LoopThread
    from agentkernel.registry import AgentRegistry
    from agentkernel.runner import Runner
    from agentkernel.settings import Settings

__all__ = [
    "Held",
    "UserOpt",
    "dump",
    "fail",
    "handled",
    "in_memory_note",
    "make_console",
    "make_runner",
    "read_settings",
    "when",
]

P = ParamSpec("P")
R = TypeVar("R")

UserOpt = Annotated[str, typer.Option("--user", "-u", help="Whose sessions to use.")]


def handled(func: Callable[P, R]) -> Callable[P, R]:
    """Turn agentkernel errors into one line on stderr and exit status 1; Ctrl-C into 130."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except AgentKernelError as exc:
            fail(str(exc), status=2 if isinstance(exc, ConfigError) else 1)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper


def fail(message: str, *, status: int = 1) -> NoReturn:
    make_console(stderr=True).print(f"error: {message}", style="red", markup=False, highlight=False)
    raise typer.Exit(status)


def make_console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, markup=False, highlight=False, soft_wrap=True)


def read_settings() -> Settings:
    """The settings; a bad one raises ``ConfigError`` (one line, exit 2 through :func:`handled`)."""
    from agentkernel.settings import load_settings

    _warnings_to_stderr()
    return load_settings()


def _warnings_to_stderr() -> None:
    """Show the library's warnings (e.g. options of a store that is not selected) as one line each."""
    root = logging.getLogger("agentkernel")
    if not any(isinstance(handler, _StderrLines) for handler in root.handlers):
        root.addHandler(_StderrLines(logging.WARNING))


class _StderrLines(logging.Handler):
    """``warning: message`` on whatever ``sys.stderr`` is when a record arrives (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"{record.levelname.lower()}: {record.getMessage()}\n")
            sys.stderr.flush()
        except Exception:  # a logging failure must not break the command
            self.handleError(record)


def make_runner(settings: Settings, agents: AgentRegistry | None = None) -> Runner:
    from agentkernel.runner import Runner

    return Runner(settings=settings, agents=agents)


class Held:
    """A runner and the loop its coroutines run on, closed together."""

    def __init__(self, settings: Settings, agents: AgentRegistry | None = None) -> None:
        from agentkernel._loop import LoopThread

        self.runner = make_runner(settings, agents)
        self.loop: LoopThread = LoopThread(name="agentkernel-cli")

    def __enter__(self) -> Held:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.loop.run(self.runner.aclose())
        finally:
            self.loop.stop()


def in_memory_note(settings: Settings) -> None:
    if settings.session.type == "in_memory":
        make_console(stderr=True).print(
            "note: AK_SESSION__TYPE=in_memory keeps sessions only inside one process, so a new command "
            "sees none; set AK_SESSION__TYPE=redis (or dynamodb) to keep them between commands.",
            style="yellow",
        )


def dump(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def when(timestamp: float) -> str:
    """A Unix time as local date and time."""
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")
