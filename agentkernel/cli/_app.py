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

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

from agentkernel._optional import require

require("typer", extra="cli", feature="the agentkernel command")
require("rich", extra="cli", feature="the agentkernel command")

import typer  # noqa: E402

from agentkernel.cli._sessions import sessions_app, store_app  # noqa: E402
from agentkernel.cli._support import (  # noqa: E402
    Held,
    UserOpt,
    dump,
    fail,
    handled,
    make_console,
    read_settings,
)
from agentkernel.errors import ConfigError  # noqa: E402
from agentkernel.session import DEFAULT_USER  # noqa: E402

if TYPE_CHECKING:
    from agentkernel.registry import AgentRegistry
    from agentkernel.settings import Settings

__all__ = ["CLI", "app"]

app = typer.Typer(
    name="agentkernel",
    help="Chat with, run and serve agents whose sessions agentkernel keeps. Settings come from AK_* variables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if not value:
        return
    from agentkernel import __version__
    from agentkernel.plugins import ADAPTER_GROUP, list_plugins

    lines = [f"agentkernel {__version__}"]
    lines += [f"{info.name} adapter: {info.distribution} {info.version}" for info in list_plugins(ADAPTER_GROUP)]
    sys.stdout.write("\n".join(lines) + "\n")
    raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version of agentkernel and of each installed adapter, then exit.",
        ),
    ] = False,
) -> None:
    """Chat with, run and serve agents whose sessions agentkernel keeps. Settings come from AK_* variables."""


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

    At the bottom of a file that defines ``agents = [...]``::

        if __name__ == "__main__":
            CLI.main()

    ``python my_agents.py`` then opens a chat with them, and ``python my_agents.py run "hi"`` runs
    one turn: every ``agentkernel`` command works, with the file's agents.
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
        if not args or (args[0] not in commands and args[0] not in ("-h", "--help", "--version")):
            args = ["chat", *args]
        caller = sys.modules.get("__main__") if agents is None else None
        prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "agentkernel"
        command.main(args=args, prog_name=prog, obj=_Defaults(module=caller, agents=agents))


# ---------------------------------------------------------------- agents
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
        "no agents given: name a file or module that defines `agents`, e.g. `agentkernel chat examples/assistant.py`"
    )


# ---------------------------------------------------------------- commands
@app.command()
@handled
def chat(
    ctx: typer.Context,
    module: ModuleArg = None,
    session: SessionOpt = None,
    agent: Annotated[str | None, typer.Option("--agent", "-a", help="The agent to talk to first.")] = None,
    user: UserOpt = DEFAULT_USER,
) -> None:
    """Chat with the agents of MODULE in the terminal (or line by line from piped input).

    A new session starts each time unless --session resumes one. Type !help in the chat for its
    commands. Ctrl-D or !quit leaves; Ctrl-C at the prompt leaves with exit status 130, and
    while an answer streams it drops that answer.
    """
    from agentkernel.cli._chat import Chat, stdin_is_terminal

    settings = read_settings()
    registry = _agents(ctx, module, settings)
    with Held(settings, registry) as held:
        conversation = Chat(
            held.runner,
            held.loop,
            user_id=user,
            session_id=session,
            agent=agent,
            interactive=stdin_is_terminal(),
            out=make_console(),
            err=make_console(stderr=True),
        )
        status = conversation.start()
    raise typer.Exit(status)


@app.command()
@handled
def run(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(help="[MODULE] PROMPT: the agents' file or module, then the prompt.")],
    agent: Annotated[
        str | None, typer.Option("--agent", "-a", help="The agent (default: the session's last agent, else the first).")
    ] = None,
    session: SessionOpt = None,
    user: UserOpt = DEFAULT_USER,
    as_json: Annotated[bool, typer.Option("--json", help="Print the session id and the whole turn as JSON.")] = False,
) -> None:
    """Run one turn and print the answer; exit status 1 if the agent fails."""
    if len(args) > 2:
        fail("give at most two arguments: [MODULE] PROMPT (quote the prompt)", status=2)
    if len(args) == 1 and _looks_like_agents(args[0]):
        fail(
            f"the prompt is missing after {args[0]}; usage: agentkernel run [OPTIONS] [MODULE] PROMPT, "
            f'e.g. agentkernel run {args[0]} "hello"',
            status=2,
        )
    module, prompt = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    if not prompt.strip():
        fail("the prompt is empty; pass the text to send to the agent", status=2)
    settings = read_settings()
    registry = _agents(ctx, module, settings)
    name = registry.get(agent).name if agent else None  # None: the session's last agent, else the first
    with Held(settings, registry) as held:
        session_id = session or _new_id()
        turn = held.loop.run(held.runner.run(name, session_id, prompt, user_id=user))
    if as_json:
        dump({"session_id": session_id, "turn": turn.model_dump(mode="json")})
    else:
        sys.stdout.write((turn.output or "") + "\n")


def _looks_like_agents(arg: str) -> bool:
    """Whether a lone ``run`` argument names a file of agents rather than being the prompt."""
    head, sep, _ = arg.rpartition(":")
    path = Path(head if sep else arg)
    return path.suffix == ".py" and path.is_file()


def _new_id() -> str:
    import uuid

    return uuid.uuid4().hex


@app.command()
@handled
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
    from agentkernel.cli._serve import serve_app

    settings = read_settings()
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
        say=lambda text: make_console(stderr=True).print(text),
    )


@app.command()
@handled
def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the installed adapters and session stores, with their distribution and version.

    Reads package metadata only: nothing is imported.
    """
    from agentkernel.plugins import ADAPTER_GROUP, STORE_GROUP, list_plugins

    found = {"adapters": list_plugins(ADAPTER_GROUP), "stores": list_plugins(STORE_GROUP)}
    if as_json:
        dump({kind: [_plugin_dict(info) for info in infos] for kind, infos in found.items()})
        return
    from rich.table import Table

    console = make_console()
    for kind, infos in found.items():
        table = Table(title=kind, title_justify="left")
        for column in ("name", "distribution", "version", "target"):
            table.add_column(column, overflow="fold")
        for info in infos:
            table.add_row(info.name, info.distribution, info.version, info.target)
        console.print(table)


def _plugin_dict(info: Any) -> dict[str, str]:
    return {"name": info.name, "distribution": info.distribution, "version": info.version, "target": info.target}
