"""The ``agentkernel`` command and ``CLI.main()``.

``CLI.main()`` at the bottom of a file of agents opens a chat with them::

    agents = [ScriptedAgent("assistant")]

    if __name__ == "__main__":
        CLI.main()

The console command does the same for any module or file: ``agentkernel chat examples/assistant.py``.
Every command reads the ``AK_`` settings (``AK_SESSION__TYPE`` and friends); an agentkernel error is
printed as one line on stderr with a non-zero exit status, never as a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

from agentkernel._optional import require

require("typer", extra="cli", feature="the agentkernel command")
require("rich", extra="cli", feature="the agentkernel command")

import typer  # noqa: E402

from agentkernel.errors import AgentKernelError, ConfigError, SessionConflict  # noqa: E402
from agentkernel.session import DEFAULT_USER  # noqa: E402

if TYPE_CHECKING:
    from rich.console import Console

    from agentkernel.cli_loop import LoopThread
    from agentkernel.registry import AgentRegistry
    from agentkernel.runner import Runner
    from agentkernel.settings import Settings

__all__ = ["CLI", "app"]

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="agentkernel",
    help="Chat with, run and serve agents whose sessions agentkernel keeps. Settings come from AK_* variables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
sessions_app = typer.Typer(help="List, show, delete, export and import sessions.", no_args_is_help=True)
store_app = typer.Typer(help="Manage the session store that AK_SESSION__TYPE selects.", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")
app.add_typer(store_app, name="store")

ModuleArg = Annotated[
    str | None,
    typer.Argument(
        help="A Python file (examples/assistant.py) or module (pkg.agents) defining `agents`; "
        "default: AK_API__AGENTS, or the file that called CLI.main().",
        show_default=False,
    ),
]
UserOpt = Annotated[str, typer.Option("--user", "-u", help="Whose sessions to use.")]
SessionOpt = Annotated[
    str | None, typer.Option("--session", "-s", help="Resume this session id (default: a new session).")
]


@dataclass(frozen=True, slots=True)
class _Defaults:
    """What ``CLI.main()`` passes to the commands: where its caller's agents are."""

    module: ModuleType | None = None
    agents: object | None = None


class CLI:
    """The command line as a callable, for files of agents.

    Example:
        >>> # at the bottom of my_agents.py, which defines `agents = [...]`:
        >>> # if __name__ == "__main__":
        >>> #     CLI.main()
    """

    @staticmethod
    def main(argv: Sequence[str] | None = None, *, agents: object | None = None) -> None:
        """Run the ``agentkernel`` command; with no command, chat with the caller's agents.

        Args:
            argv: The arguments (default: ``sys.argv[1:]``). ``[]`` or options only mean ``chat``.
            agents: The agents to use (a list, a dict of name -> agent, or an ``AgentRegistry``);
                default: the ``agents`` of the ``__main__`` module, i.e. the file being run.

        Raises:
            SystemExit: always, with the command's exit status.
        """
        args = list(sys.argv[1:] if argv is None else argv)
        command = typer.main.get_command(app)
        commands = set(getattr(command, "commands", {}))
        if not args or (args[0] not in commands and args[0] not in ("-h", "--help")):
            args = ["chat", *args]
        caller = sys.modules.get("__main__") if agents is None else None
        prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "agentkernel"
        command.main(args=args, prog_name=prog, obj=_Defaults(module=caller, agents=agents))


# ---------------------------------------------------------------- plumbing
def _handled(func: Callable[P, R]) -> Callable[P, R]:
    """Turn agentkernel errors into one line on stderr and exit status 1; Ctrl-C into 130."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except AgentKernelError as exc:
            _fail(str(exc), status=2 if isinstance(exc, ConfigError) else 1)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper


def _fail(message: str, *, status: int = 1) -> NoReturn:
    _console(stderr=True).print(f"error: {message}", style="red", markup=False, highlight=False)
    raise typer.Exit(status)


def _console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, markup=False, highlight=False, soft_wrap=True)


def _settings() -> Settings:
    from agentkernel.settings import load_settings

    return load_settings()


def _agents(ctx: typer.Context, module: str | None, settings: Settings) -> AgentRegistry:
    from agentkernel.agents_loader import agents_of_module, load_agents, registry_from

    defaults: _Defaults = ctx.obj if isinstance(ctx.obj, _Defaults) else _Defaults()
    if module:
        return load_agents(module)
    if defaults.agents is not None:
        return registry_from(defaults.agents)
    if defaults.module is not None:
        return agents_of_module(defaults.module, source=getattr(defaults.module, "__file__", None) or "__main__")
    if settings.api.agents:
        return load_agents(settings.api.agents)
    raise ConfigError(
        "no agents given: name a file or module that defines `agents`, "
        "e.g. `agentkernel chat examples/assistant.py`"
    )


def _runner(settings: Settings, agents: AgentRegistry | None = None) -> Runner:
    from agentkernel.runner import Runner

    return Runner(settings=settings, agents=agents)


class _Session:
    """A runner and the loop its coroutines run on, closed together."""

    def __init__(self, settings: Settings, agents: AgentRegistry | None = None) -> None:
        from agentkernel.cli_loop import LoopThread

        self.runner = _runner(settings, agents)
        self.loop: LoopThread = LoopThread()

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.loop.run(self.runner.aclose())
        finally:
            self.loop.stop()


def _in_memory_note(settings: Settings) -> None:
    if settings.session.type == "in_memory":
        _console(stderr=True).print(
            "note: AK_SESSION__TYPE=in_memory keeps sessions only inside one process, so a new command "
            "sees none; set AK_SESSION__TYPE=redis (or dynamodb) to keep them between commands.",
            style="yellow",
        )


def _dump(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- commands
@app.command()
@_handled
def chat(
    ctx: typer.Context,
    module: ModuleArg = None,
    session: SessionOpt = None,
    agent: Annotated[str | None, typer.Option("--agent", "-a", help="The agent to talk to first.")] = None,
    user: UserOpt = DEFAULT_USER,
) -> None:
    """Chat with the agents of MODULE in the terminal (or line by line from piped input).

    A new session starts each time unless --session resumes one. Type !help in the chat for its
    commands. Ctrl-D or !quit leaves; Ctrl-C leaves too (exit status 130).
    """
    from agentkernel.cli_chat import Chat, stdin_is_terminal

    settings = _settings()
    registry = _agents(ctx, module, settings)
    with _Session(settings, registry) as held:
        conversation = Chat(
            held.runner,
            held.loop,
            user_id=user,
            session_id=session,
            agent=agent,
            interactive=stdin_is_terminal(),
            out=_console(),
            err=_console(stderr=True),
        )
        status = conversation.start()
    raise typer.Exit(status)


@app.command()
@_handled
def run(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="[MODULE] PROMPT: the agents' file or module, then the prompt.")],
    agent: Annotated[str | None, typer.Option("--agent", "-a", help="The agent (default: the first one).")] = None,
    session: SessionOpt = None,
    user: UserOpt = DEFAULT_USER,
    as_json: Annotated[bool, typer.Option("--json", help="Print the session id and the whole turn as JSON.")] = False,
) -> None:
    """Run one turn and print the answer; exit status 1 if the agent fails."""
    if len(args) > 2:
        _fail("give at most two arguments: [MODULE] PROMPT (quote the prompt)", status=2)
    module, prompt = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    if not prompt.strip():
        _fail("the prompt is empty; pass the text to send to the agent", status=2)
    settings = _settings()
    registry = _agents(ctx, module, settings)
    name = agent or registry.names()[0]
    registry.get(name)
    with _Session(settings, registry) as held:
        session_id = session or _new_id()
        turn = held.loop.run(held.runner.run(name, session_id, prompt, user_id=user))
    if as_json:
        _dump({"session_id": session_id, "turn": turn.model_dump(mode="json")})
    else:
        sys.stdout.write((turn.output or "") + "\n")


def _new_id() -> str:
    import uuid

    return uuid.uuid4().hex


@app.command()
@_handled
def serve(
    ctx: typer.Context,
    module: ModuleArg = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default AK_API__HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default AK_API__PORT, 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the agents of MODULE over HTTP (POST /run; see /docs) with uvicorn.

    With no API keys configured (AK_API__KEYS) only a loopback address is allowed, unless
    AK_API__ALLOW_PUBLIC_WITHOUT_KEYS=true.
    """
    from agentkernel.http_serve import serve_app

    settings = _settings()
    defaults: _Defaults = ctx.obj if isinstance(ctx.obj, _Defaults) else _Defaults()
    source = module or settings.api.agents
    if source is None and defaults.module is not None and getattr(defaults.module, "__file__", None):
        source = str(defaults.module.__file__)
    if source is None:
        raise ConfigError("no agents given: name a file or module, e.g. `agentkernel serve examples/assistant.py`")
    if Path(source.rpartition(":")[0] or source).suffix == ".py":
        head, sep, tail = source.rpartition(":")
        source = str(Path(head).resolve()) + sep + tail if sep and tail.isidentifier() else str(Path(source).resolve())
    serve_app(
        source,
        settings,
        host=host or settings.api.host,
        port=settings.api.port if port is None else port,
        workers=workers,
        log_level=log_level,
        say=lambda text: _console(stderr=True).print(text),
    )


@app.command()
@_handled
def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the installed adapters and session stores, with their distribution and version.

    Reads package metadata only: nothing is imported.
    """
    from agentkernel.plugins import ADAPTER_GROUP, STORE_GROUP, list_plugins

    found = {"adapters": list_plugins(ADAPTER_GROUP), "stores": list_plugins(STORE_GROUP)}
    if as_json:
        _dump({kind: [_plugin_dict(info) for info in infos] for kind, infos in found.items()})
        return
    from rich.table import Table

    console = _console()
    for kind, infos in found.items():
        table = Table(title=kind, title_justify="left")
        for column in ("name", "distribution", "version", "target"):
            table.add_column(column, overflow="fold")
        for info in infos:
            table.add_row(info.name, info.distribution, info.version, info.target)
        console.print(table)


def _plugin_dict(info: Any) -> dict[str, str]:
    return {"name": info.name, "distribution": info.distribution, "version": info.version, "target": info.target}


# ---------------------------------------------------------------- sessions
@sessions_app.command("list")
@_handled
def sessions_list(
    user: UserOpt = DEFAULT_USER,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Sessions per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="The next_cursor a previous page printed.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List a user's sessions, most recently updated first."""
    settings = _settings()
    _in_memory_note(settings)
    with _Session(settings) as held:
        try:
            page = held.loop.run(held.runner.sessions.list(user_id=user, limit=limit, cursor=cursor))
        except ValueError as exc:
            _fail(str(exc), status=2)
    if as_json:
        _dump({"sessions": [_meta_dict(meta) for meta in page.sessions], "next_cursor": page.next_cursor})
        return
    from rich.table import Table

    table = Table("id", "turns", "updated", "name")
    for meta in page.sessions:
        table.add_row(meta.id, str(meta.turn_count), _when(meta.updated_at), meta.name or "")
    console = _console()
    if page.sessions:
        console.print(table)
    else:
        console.print(f"no sessions for user {user}")
    if page.next_cursor:
        console.print(f"more: agentkernel sessions list --cursor {page.next_cursor}")


@sessions_app.command("show")
@_handled
def sessions_show(
    session_id: Annotated[str, typer.Argument(metavar="ID", help="The session id.")],
    user: UserOpt = DEFAULT_USER,
    last: Annotated[int | None, typer.Option(min=0, help="Only the newest N turns.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the session and its turns as JSON.")] = False,
) -> None:
    """Show a session's header and turns."""
    settings = _settings()
    _in_memory_note(settings)
    with _Session(settings) as held:
        session = held.loop.run(held.runner.sessions.get(session_id, user_id=user, last_turns=last))
    if as_json:
        _dump({**_meta_dict(session.meta), "turns": [turn.model_dump(mode="json") for turn in session.turns]})
        return
    console = _console()
    console.print(f"session {session.id}  user {session.user_id}  version {session.version}  "
                  f"{session.turn_count} turns  updated {_when(session.updated_at)}", style="bold")
    for turn in session.turns:
        console.print(f"#{turn.index} [{turn.status}] you -> {turn.agent} ({turn.framework}): {turn.prompt}")
        if turn.error is not None:
            console.print(f"   error: {turn.error.type}: {turn.error.message}", style="red")
        else:
            console.print(f"   {turn.agent}: {turn.output}")


@sessions_app.command("delete")
@_handled
def sessions_delete(
    session_id: Annotated[str, typer.Argument(metavar="ID", help="The session id.")],
    user: UserOpt = DEFAULT_USER,
) -> None:
    """Delete a session and everything it stored."""
    settings = _settings()
    _in_memory_note(settings)
    with _Session(settings) as held:
        held.loop.run(held.runner.sessions.delete(session_id, user_id=user))
    _console().print(f"deleted session {session_id}")


@sessions_app.command("export")
@_handled
def sessions_export(
    session_id: Annotated[str, typer.Argument(metavar="ID", help="The session id.")],
    user: UserOpt = DEFAULT_USER,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Write a whole session (state and every turn) as JSON."""
    settings = _settings()
    _in_memory_note(settings)
    with _Session(settings) as held:
        session = held.loop.run(held.runner.sessions.get(session_id, user_id=user))
    text = json.dumps(session.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        _console(stderr=True).print(f"exported session {session_id} to {output}")


@sessions_app.command("import")
@_handled
def sessions_import(
    file: Annotated[str, typer.Argument(metavar="FILE", help="A file `sessions export` wrote, or - for stdin.")],
    user: Annotated[str | None, typer.Option("--user", "-u", help="Owner (default: the exported owner).")] = None,
) -> None:
    """Store a session that `sessions export` wrote. The id must not be in use."""
    from agentkernel.session import Session

    try:
        raw = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        session = Session.from_dict(json.loads(raw), user_id=user)
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}", status=2)
    except (ValueError, KeyError, TypeError) as exc:
        _fail(f"{file} is not a session export: {exc}", status=2)
    settings = _settings()
    _in_memory_note(settings)
    with _Session(settings) as held:
        try:
            held.loop.run(held.runner.sessions.save(session))
        except SessionConflict:
            _fail(f"session {session.id!r} already exists; delete it first or edit the id in the file")
    _console().print(f"imported session {session.id} ({session.turn_count} turns) for user {session.user_id}")


def _meta_dict(meta: Any) -> dict[str, Any]:
    return {
        "id": meta.id,
        "user_id": meta.user_id,
        "created_at": meta.created_at,
        "updated_at": meta.updated_at,
        "version": meta.version,
        "name": meta.name,
        "tags": list(meta.tags),
        "turn_count": meta.turn_count,
    }


def _when(timestamp: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


# ------------------------------------------------------------------- store
@store_app.command("setup")
@_handled
def store_setup() -> None:
    """Create what the store needs (DynamoDB tables, say), if it needs anything. Safe to repeat."""
    settings = _settings()
    with _Session(settings) as held:
        setup = getattr(held.runner.store, "setup", None)
        if setup is None:
            _console().print(f"the {settings.session.type} store has nothing to set up")
            return
        with _console(stderr=True).status(f"setting up the {settings.session.type} store..."):
            result = setup()
            if hasattr(result, "__await__"):
                result = held.loop.run(_awaited(result))
    kind = settings.session.type
    if result is False:  # stores that say whether they made anything (DynamoDB does)
        _console().print(f"the {kind} store was already set up; nothing changed")
    else:
        _console().print(f"the {kind} store is set up")


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


if __name__ == "__main__":
    app()
