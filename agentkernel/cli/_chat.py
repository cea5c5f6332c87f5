"""The interactive chat of ``agentkernel chat`` and ``CLI.main()``.

Each line is a prompt for the current agent, or a command starting with ``!`` (``!help`` lists
them). Answers are printed as they stream in. On a terminal there is a banner, a prompt and line
editing; with piped input only the answers are printed, one per prompt line, so it can be scripted.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentkernel.cli._support import when
from agentkernel.errors import AgentKernelError, AgentRunError
from agentkernel.session import validate_session_id

if TYPE_CHECKING:
    from rich.console import Console

    from agentkernel._loop import LoopThread
    from agentkernel.runner import Runner
    from agentkernel.session import Session
    from agentkernel.transcript import Turn

__all__ = ["Chat"]

INTERRUPTED = 130
"""Exit status after Ctrl-C, as shells report a process ended by SIGINT."""


@dataclass(frozen=True, slots=True)
class _Command:
    usage: str
    help: str
    handler: Callable[[Chat, str], bool]


class Chat:
    """A chat session in the terminal.

    Args:
        runner: The runner, with the agents registered.
        loop: The loop the runner's coroutines run on.
        user_id: Whose sessions these are.
        session_id: The session to resume, or ``None`` for a new one.
        agent: The agent to talk to first, or ``None`` for the session's last agent (or the first one).
        interactive: Show a banner and prompts (stdin is a terminal).
        out: Where answers and command output go.
        err: Where errors go.
    """

    def __init__(
        self,
        runner: Runner,
        loop: LoopThread,
        *,
        user_id: str,
        session_id: str | None,
        agent: str | None,
        interactive: bool,
        out: Console,
        err: Console,
    ) -> None:
        self.runner = runner
        self.loop = loop
        self.user_id = user_id
        self.session_id = validate_session_id(session_id) if session_id else uuid.uuid4().hex
        self.resumed = False
        self.agent: str | None = runner.agents.get(agent).name if agent else None
        self.interactive = interactive
        self.out = out
        self.err = err
        self.failed = False
        self._open_line = False

    # ------------------------------------------------------------------ loop
    def start(self) -> int:
        """Read prompts until end of input, ``!quit`` or Ctrl-C.

        Returns:
            The exit status: 0, 1 when a turn failed with piped input, 130 after Ctrl-C.
        """
        if self.interactive:
            # Only the banner needs this read; which agent answers is the runner's choice.
            self.resumed = self._load(last_turns=0) is not None
            _enable_line_editing()
            self._banner()
        while True:
            try:
                line = input("you> " if self.interactive else "")
            except EOFError:
                if self.interactive:
                    self.out.print()
                return 1 if self.failed and not self.interactive else 0
            except KeyboardInterrupt:
                if self.interactive:
                    self.out.print()
                return INTERRUPTED
            line = line.strip()
            if not line:
                continue
            try:
                if line.startswith("!"):
                    if not self._command(line):
                        return 1 if self.failed and not self.interactive else 0
                    continue
                self._ask(line)
            except KeyboardInterrupt:
                self._end_line()
                if not self.interactive:
                    return INTERRUPTED
                self.err.print("interrupted: that answer was not saved", style="yellow")

    def _banner(self) -> None:
        state = "resumed" if self.resumed else "new"
        self.out.print(
            f"agentkernel chat: {state} session {self.session_id} (user {self.user_id}); "
            f"agents: {', '.join(self.runner.agents.names())}",
            style="bold",
        )
        self.out.print("Type a message, or !help for commands. Ctrl-D or !quit to leave.", style="dim")
        if self.runner.settings.session.type == "in_memory":
            self.out.print(
                "Sessions live in this process only (AK_SESSION__TYPE=in_memory); "
                "set AK_SESSION__TYPE=redis to keep them.",
                style="dim",
            )

    # ------------------------------------------------------------------ runs
    def _ask(self, prompt: str) -> None:
        try:
            turn = self.loop.run(self._stream(prompt))
        except AgentRunError as exc:
            self._end_line()
            self._error(str(exc))
            return
        except AgentKernelError as exc:
            self._error(str(exc))
            return
        if turn.status == "interrupted":
            self.out.print("(the agent paused and is waiting for your answer)", style="dim")

    async def _stream(self, prompt: str) -> Turn:
        started = False
        final: Turn | None = None
        # With no agent chosen yet the runner picks one (the session's last agent, else the first)
        # and names it on every event.
        async for event in self.runner.stream(self.agent, self.session_id, prompt, user_id=self.user_id):
            if event.type == "delta":
                if not started and self.interactive:
                    self._write(f"{event.agent}> ")
                started = self._open_line = True
                self._write(event.text)
            elif event.type == "turn" and event.turn is not None:
                final = event.turn
        if final is None:
            raise RuntimeError("the run ended without a turn")
        if not started:  # an adapter that does not stream: print the answer whole
            if self.interactive:
                self._write(f"{final.agent}> ")
            self._write(final.output or "")
        self._write("\n")
        self._open_line = False
        self.agent = final.agent
        return final

    # -------------------------------------------------------------- commands
    def _command(self, line: str) -> bool:
        name, _, arg = line[1:].partition(" ")
        command = COMMANDS.get(name.lower())
        if command is None:
            self._error(f"unknown command !{name}; type !help for the list")
            return True
        try:
            return command.handler(self, arg.strip())
        except (AgentKernelError, ValueError) as exc:
            self._error(str(exc))
            return True

    def _help(self, _: str) -> bool:
        for command in COMMANDS.values():
            if command.usage != "!exit":
                self.out.print(f"  {command.usage:<16} {command.help}")
        return True

    def _agents(self, _: str) -> bool:
        for spec in self.runner.agents:
            mark = "*" if spec.name == self.agent else " "
            self.out.print(f"{mark} {spec.name:<16} {spec.description}".rstrip())
        return True

    def _select(self, name: str) -> bool:
        if not name:
            current = self.agent or "the session's last agent (or the first one)"
            self.out.print(f"talking to {current}; choose with !agent NAME (see !agents)")
            return True
        self.agent = self.runner.agents.get(name).name
        self.out.print(f"now talking to {self.agent}")
        return True

    def _new(self, _: str) -> bool:
        self.session_id = uuid.uuid4().hex
        self.out.print(f"new session {self.session_id}")
        return True

    def _switch(self, session_id: str) -> bool:
        if not session_id:
            self.out.print(f"session {self.session_id} (user {self.user_id})")
            return True
        session = self.loop.run(self.runner.sessions.get(session_id, user_id=self.user_id, last_turns=0))
        self.session_id = session.id
        self.out.print(f"resumed session {session.id} ({session.turn_count} turns)")
        return True

    def _sessions(self, _: str) -> bool:
        page = self.loop.run(self.runner.sessions.list(user_id=self.user_id, limit=20))
        if not page.sessions:
            self.out.print("no saved sessions yet")
        for meta in page.sessions:
            mark = "*" if meta.id == self.session_id else " "
            self.out.print(f"{mark} {meta.id}  {meta.turn_count} turns  updated {when(meta.updated_at)}")
        if page.next_cursor:
            self.out.print("(older sessions: agentkernel sessions list)")
        return True

    def _history(self, arg: str) -> bool:
        last: int | None = 20
        if arg.lower() in ("0", "all"):
            last = None  # every turn
        elif arg:
            if not arg.isdigit():
                self._error(f"usage: !history [N]: N is a number of turns (0 or all: every turn), not {arg!r}")
                return True
            last = int(arg)
        session = self._load(last_turns=last)
        if session is None or not session.turns:
            self.out.print("no turns yet in this session")
            return True
        for turn in session.turns:
            self.out.print(f"#{turn.index} you -> {turn.agent}: {turn.prompt}")
            if turn.status == "error" and turn.error is not None:
                self.out.print(f"   {turn.agent} failed: {turn.error.type}: {turn.error.message}", style="red")
            else:
                self.out.print(f"   {turn.agent}: {turn.output}")
        return True

    def _clear(self, _: str) -> bool:
        async def clear() -> None:
            session = await self.runner.sessions.find(self.session_id, user_id=self.user_id, last_turns=0)
            if session is not None:
                session.clear(transcript=True)
                await self.runner.sessions.save(session)

        self.loop.run(clear())
        self.out.print(f"cleared session {self.session_id}: no turns, no state")
        return True

    def _quit(self, _: str) -> bool:
        return False

    # --------------------------------------------------------------- helpers
    def _load(self, *, last_turns: int | None) -> Session | None:
        return self.loop.run(self.runner.sessions.find(self.session_id, user_id=self.user_id, last_turns=last_turns))

    def _write(self, text: str) -> None:
        stream = self.out.file
        stream.write(text)
        stream.flush()

    def _end_line(self) -> None:
        if self._open_line:
            self._write("\n")
            self._open_line = False

    def _error(self, message: str) -> None:
        self.failed = True
        self.err.print(f"error: {message}", style="red")


COMMANDS: dict[str, _Command] = {
    "help": _Command("!help", "show these commands", Chat._help),
    "agents": _Command("!agents", "list the agents (* marks the current one)", Chat._agents),
    "agent": _Command("!agent NAME", "talk to another agent in the same session", Chat._select),
    "new": _Command("!new", "start a new session", Chat._new),
    "session": _Command("!session [ID]", "show the session id, or resume session ID", Chat._switch),
    "sessions": _Command("!sessions", "list your sessions", Chat._sessions),
    "history": _Command("!history [N]", "show the last N turns (default 20; 0 or all: every turn)", Chat._history),
    "clear": _Command("!clear", "empty this session: its turns and its state", Chat._clear),
    "quit": _Command("!quit", "leave (Ctrl-D works too)", Chat._quit),
    "exit": _Command("!exit", "leave", Chat._quit),
}


def _enable_line_editing() -> None:
    try:
        import readline  # noqa: F401 - importing it gives input() line editing and history
    except ImportError:  # not available on every platform; plain input() still works
        return


def stdin_is_terminal() -> bool:
    """Whether the chat reads from a terminal (and so shows prompts)."""
    return sys.stdin.isatty()
