"""The chat in a pseudo-terminal, as a person uses it: banner, prompt, streaming, Ctrl-D, Ctrl-C."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pexpect  # type: ignore[import-untyped]
import pytest

from tests.test_cli import COMMAND, EXAMPLE, ROOT, cli_env

SLOW = """
import asyncio
import builtins
import signal
import sys
import threading

from agentkernel.testing import ScriptedAgent


async def slow(context):
    print("[slow agent started]", file=sys.stderr, flush=True)  # the test sends Ctrl-C on this
    await asyncio.sleep(30)
    return "too late"


# A hook to send Ctrl-C at an exact point: typing "interrupt before start" makes the chat's next
# hand-over of a coroutine to its loop thread raise SIGINT right after scheduling it, before it
# can start (the race of a Ctrl-C 10-30 ms after a line is sent).
_armed = threading.Event()
_input = builtins.input


def _watching_input(prompt=""):
    line = _input(prompt)
    if line.strip() == "interrupt before start":
        _armed.set()
    return line


def _hook(loop_class):
    original = loop_class.call_soon_threadsafe

    def call_soon_threadsafe(self, callback, *args, context=None):
        handle = original(self, callback, *args, context=context)
        if _armed.is_set() and threading.current_thread() is threading.main_thread():
            _armed.clear()
            signal.raise_signal(signal.SIGINT)
        return handle

    loop_class.call_soon_threadsafe = call_soon_threadsafe


builtins.input = _watching_input
_hook(asyncio.BaseEventLoop)

agents = [ScriptedAgent("slow", replies=[slow]), ScriptedAgent("quick", replies=["quick answer"])]
"""


def spawn(*args: str, cwd: Path | None = None) -> pexpect.spawn:
    child = pexpect.spawn(
        COMMAND[0],
        [*COMMAND[1:], *args],
        env=cli_env(),
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
        cwd=str(cwd) if cwd else None,
    )
    return child


@pytest.fixture
def chat() -> Iterator[pexpect.spawn]:
    child = spawn("chat", str(EXAMPLE))
    yield child
    child.close(force=True)


def finished(child: pexpect.spawn) -> str:
    child.expect(pexpect.EOF)
    child.close()
    transcript: str = child.before or ""
    assert "Traceback" not in transcript
    return transcript


def test_banner_prompt_answers_and_ctrl_d(chat: pexpect.spawn) -> None:
    chat.expect("agentkernel chat: new session [0-9a-f]{32} \\(user anonymous\\); agents: assistant, historian")
    chat.expect("!help for commands")
    chat.expect_exact("you> ")
    chat.sendline("my name is Ada")
    chat.expect_exact("assistant> Nice to meet you, Ada!")
    chat.expect_exact("you> ")
    chat.sendline("what is my name?")
    chat.expect_exact("assistant> Your name is Ada.")
    chat.expect_exact("you> ")
    chat.sendeof()
    finished(chat)
    assert chat.exitstatus == 0


def test_help_and_history_in_the_terminal(chat: pexpect.spawn) -> None:
    chat.expect_exact("you> ")
    chat.sendline("!help")
    chat.expect_exact("!history [N]")
    chat.expect_exact("you> ")
    chat.sendline("hello there")
    chat.expect_exact("you> ")
    chat.sendline("!history")
    chat.expect_exact("#0 you -> assistant: hello there")
    chat.expect_exact("you> ")
    chat.sendline("!quit")
    finished(chat)
    assert chat.exitstatus == 0


def test_ctrl_c_at_the_prompt_leaves_with_130(chat: pexpect.spawn) -> None:
    chat.expect_exact("you> ")
    chat.sendintr()
    finished(chat)
    assert chat.exitstatus == 130


def _interrupted_answer_leaves_nothing(child: pexpect.spawn) -> None:
    child.expect_exact("interrupted: that answer was not saved")
    child.expect_exact("you> ")
    child.sendline("!agent quick")
    child.expect_exact("you> ")
    child.sendline("!history")
    child.expect_exact("no turns yet in this session")
    child.expect_exact("you> ")
    child.sendline("now")  # with the interrupted run still going, this would wait for its lease
    child.expect_exact("quick> quick answer", timeout=10)
    child.expect_exact("you> ")
    child.sendline("!history")
    child.expect_exact("#0 you -> quick: now")
    child.expect_exact("you> ")
    child.sendeof()
    transcript = finished(child)
    assert "too late" not in transcript
    assert child.exitstatus == 0


def test_ctrl_c_during_an_answer_drops_it_and_keeps_chatting(tmp_path: Path) -> None:
    module = tmp_path / "slow_agents.py"
    module.write_text(SLOW)
    child = spawn("chat", str(module))
    try:
        child.expect_exact("you> ")
        child.sendline("take your time")
        child.expect_exact("[slow agent started]")  # the agent itself says the run has started
        child.sendintr()
        _interrupted_answer_leaves_nothing(child)
    finally:
        child.close(force=True)


def test_ctrl_c_as_a_line_is_handed_to_the_loop_drops_it_and_keeps_chatting(tmp_path: Path) -> None:
    module = tmp_path / "slow_agents.py"
    module.write_text(SLOW)
    child = spawn("chat", str(module))
    try:
        child.expect_exact("you> ")
        child.sendline("interrupt before start")  # SIGINT lands right after the run is scheduled
        _interrupted_answer_leaves_nothing(child)
    finally:
        child.close(force=True)


def test_session_user_and_agent_options_in_the_terminal() -> None:
    child = spawn("chat", str(EXAMPLE), "--session", "my-session", "--agent", "historian", "--user", "ada")
    try:
        child.expect("new session my-session \\(user ada\\)")
        child.expect_exact("you> ")
        child.sendline("!session")
        child.expect_exact("session my-session (user ada)")
        child.expect_exact("you> ")
        child.sendline("hi")
        child.expect_exact("historian> Nothing has happened in this session yet.")
        child.expect_exact("you> ")
        child.sendeof()
        finished(child)
    finally:
        child.close(force=True)


def test_the_readme_command_from_the_repository_root() -> None:
    child = spawn("chat", "examples/assistant.py", cwd=ROOT)  # exactly what the README says
    try:
        child.expect_exact("you> ")
        child.sendline("what is my name?")
        child.expect_exact("assistant> I don't know your name yet.")
        child.expect_exact("you> ")
        child.sendeof()
        finished(child)
        assert child.exitstatus == 0
    finally:
        child.close(force=True)
