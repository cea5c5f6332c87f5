"""A two-turn conversation with a scripted agent through the runner, then the transcript.

Run: ``python examples/chat.py`` (no API key, in-memory store).
"""

from __future__ import annotations

import asyncio

from agentkernel import Runner, Session
from agentkernel.testing import ScriptedAgent


async def main() -> None:
    agent = ScriptedAgent("assistant", replies=["Hi! What should I call you?", "Nice to meet you."])
    async with Runner() as runner:
        session = Session(id="example-session")
        for prompt in ("Hello!", "Call me Ada."):
            turn = await runner.run(agent, session, prompt)
            print(f"you> {prompt}\n{turn.agent}> {turn.output}")
        print(f"\ntranscript of {session.id} (version {session.version}):")
        for turn in session.turns:
            print(f"  #{turn.index} {turn.agent} [{turn.status}] {turn.prompt!r} -> {turn.output!r}")


if __name__ == "__main__":
    asyncio.run(main())
