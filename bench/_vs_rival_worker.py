"""One side of bench/vs_rival.py: runs OpenAI Agents SDK turns through agentkernel (ours or the rival's).

Both projects install an import package called ``agentkernel``, so each side runs in its own process
(the rival's in its own venv) and this worker answers the driver's JSON commands, one per line on
stdin, with one JSON line on stdout. It imports nothing of ours at module level, so the rival's
venv can run it.

Commands: ``configure`` (store: memory or redis; the SDK's window), ``seed`` (a session with N prior turns: the same
SDK items on both sides, and our transcript turns), ``turn`` (one more turn through the kernel),
``bare`` (one more turn of the bare SDK with a plain list of the same items as its memory),
``quit``. Each turn answers its wall and CPU milliseconds and the full collections it triggered.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from typing import Any

SIDE = sys.argv[1]  # "ours" or "rival"
AGENT = "bench"


def reply(texts: list[str]) -> str:
    return f"answer {len(texts)}: sunny, 24 degrees, light wind from the north-west"


def seeded_items(i: int) -> list[dict[str, Any]]:
    """The SDK items one turn leaves: the user's message and the model's answer."""
    return [
        {"role": "user", "content": f"question number {i} about the weather in Lisbon"},
        {
            "id": f"msg_{i:08d}abcdefabcdefabcdefabcdef",
            "content": [{"annotations": [], "text": reply([""] * i), "type": "output_text", "logprobs": []}],
            "role": "assistant",
            "status": "completed",
            "type": "message",
        },
    ]


class FullCollections:
    """Counts full (generation 2) collections."""

    def __init__(self) -> None:
        self.count = 0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            self.count += 1


FULL = FullCollections()


class ListSession:
    """The bare SDK's memory: the simplest there is, a list of the items in this process."""

    def __init__(self, session_id: str, turns: int) -> None:
        self.session_id = session_id
        self.session_settings = None
        self.items = [item for i in range(turns) for item in seeded_items(i)]

    async def get_items(self, limit: int | None = None) -> list[Any]:
        return self.items[-limit:] if limit else list(self.items)

    async def add_items(self, items: list[Any]) -> None:
        self.items.extend(items)

    async def pop_item(self) -> Any:
        return self.items.pop() if self.items else None

    async def clear_session(self) -> None:
        self.items.clear()


class Side:
    """What both projects offer the driver."""

    def __init__(self) -> None:
        from agents import Agent

        from_testing = _function_model()
        self.agent = Agent(name=AGENT, model=from_testing(reply))
        self.bare_sessions: dict[str, Any] = {}
        self.run_config: Any = None

    async def configure(self, store: str, url: str, prefix: str, window: int) -> None:
        """Set up the store; ``window`` > 0 gives every run ``SessionSettings(limit=window)``."""
        from agents import RunConfig
        from agents.memory import SessionSettings

        settings = SessionSettings(limit=window) if window > 0 else None
        self.run_config = RunConfig(tracing_disabled=True, session_settings=settings)
        await self.setup(store, url, prefix)

    async def setup(self, store: str, url: str, prefix: str) -> None:
        raise NotImplementedError

    async def seed(self, session_id: str, turns: int) -> None:
        raise NotImplementedError

    async def turn(self, session_id: str, prompt: str) -> None:
        raise NotImplementedError

    async def bare_seed(self, session_id: str, turns: int) -> None:
        self.bare_sessions[session_id] = ListSession(f"bare-{session_id}", turns)

    async def bare(self, session_id: str, prompt: str) -> None:
        from agents import Runner

        memory = self.bare_sessions[session_id]
        result = await Runner.run(self.agent, prompt, session=memory, run_config=self.run_config)
        _check(result.final_output)


def _function_model() -> Any:
    """Our offline scripted model class: imported from our adapter, or loaded from its file."""
    if SIDE == "ours":
        from agentkernel_openai_agents.testing import FunctionModel

        return FunctionModel
    import importlib.util

    path = os.environ["AK_BENCH_FUNCTION_MODEL"]
    spec = importlib.util.spec_from_file_location("_bench_function_model", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FunctionModel


def _check(output: object) -> None:
    if not (isinstance(output, str) and output.startswith("answer ")):
        raise RuntimeError(f"the turn did not run the model: {output!r}")


class Ours(Side):
    async def setup(self, store: str, url: str, prefix: str) -> None:
        from agentkernel import InMemoryStore, Runner
        from agentkernel.settings import load_settings

        if store == "redis":
            from agentkernel.stores.redis import RedisStore

            self.store: Any = RedisStore.from_url(url, prefix=prefix)
        else:
            self.store = InMemoryStore()
        self.runner = Runner(self.store, settings=load_settings())
        self.runner.register(self.agent, run_config=self.run_config)

    async def seed(self, session_id: str, turns: int) -> None:
        from agentkernel_openai_agents.memory import NamespaceSession

        from agentkernel import Session
        from agentkernel._records import mark_committed, pending_change
        from agentkernel.history import cursor_key
        from agentkernel.transcript import Message, Step, Turn, Usage

        session = Session(session_id)
        state = session.namespace("openai_agents")
        memory = NamespaceSession(state, session_id, agent=AGENT)
        usage = Usage(input_tokens=9, output_tokens=9, total_tokens=18, requests=1)
        for i in range(turns):
            now = time.time()
            answer = reply([""] * i)
            session.append_turn(
                Turn(
                    agent=AGENT,
                    framework="openai_agents",
                    input=[Message(role="user", content=f"question number {i} about the weather in Lisbon")],
                    output=answer,
                    steps=[Step(kind="model_call", name="function-model", agent=AGENT, result=answer, usage=usage)],
                    started_at=now,
                    ended_at=now,
                    usage=usage,
                    metadata={"last_agent": AGENT},
                )
            )
            await memory.add_items(seeded_items(i))  # type: ignore[arg-type]
            if (i + 1) % 200 == 0 or i + 1 == turns:
                state[cursor_key(AGENT)] = i + 1
                change = pending_change(session)
                await self.store.commit(change)
                mark_committed(session, change)

    async def turn(self, session_id: str, prompt: str) -> None:
        result = await self.runner.run(self.agent, session_id, prompt)
        _check(result.output)


class Rival(Side):
    async def setup(self, store: str, url: str, prefix: str) -> None:
        os.environ["AK_SESSION__TYPE"] = store if store == "redis" else "in_memory"
        os.environ["AK_SESSION__REDIS__URL"] = url
        os.environ["AK_SESSION__REDIS__PREFIX"] = prefix
        from agentkernel.core.session.in_memory import InMemorySessionStore
        from agentkernel.framework.openai import OpenAIModule

        from agentkernel.core import Runtime

        if store == "redis":
            from agentkernel.core.session.redis import RedisSessionStore

            self.store = RedisSessionStore()
        else:
            self.store = InMemorySessionStore()
        self.runtime = Runtime(self.store)
        with self.runtime:
            self.module = OpenAIModule([self.agent])
        self.ak_agent = self.module.get_agent(AGENT)
        self.ak_agent.run_options["run_config"] = self.run_config

    async def seed(self, session_id: str, turns: int) -> None:
        from agentkernel.framework.openai.openai import OpenAISession

        session = self.store.new(session_id)
        memory = OpenAISession()
        await memory.add_items([item for i in range(turns) for item in seeded_items(i)])
        session.set("openai", memory)
        self.store.store(session)

    async def turn(self, session_id: str, prompt: str) -> None:
        from agentkernel.core.model import AgentRequestText

        session = self.store.load(session_id)
        with self.runtime:
            answer = await self.runtime.run(self.ak_agent, session, [AgentRequestText(prompt=prompt)])
        _check(getattr(answer, "response", None))  # the rival answers errors as text


async def main() -> None:
    import logging

    logging.disable(logging.WARNING)
    side: Side = Ours() if SIDE == "ours" else Rival()
    loop_out = sys.stdout
    sys.stdout = sys.stderr  # whatever the projects print stays off the answer channel
    for line in sys.stdin:
        command = json.loads(line)
        name = command.pop("cmd")
        if name == "quit":
            break
        answer: dict[str, Any] = {}
        if name in ("turn", "bare"):
            gc.collect()  # each turn pays for the collections its own objects cause, not the last turn's
            full, wall, cpu = FULL.count, time.perf_counter(), time.process_time()
            await getattr(side, name)(**command)
            answer = {
                "wall_ms": (time.perf_counter() - wall) * 1e3,
                "cpu_ms": (time.process_time() - cpu) * 1e3,
                "full_gc": FULL.count - full,
            }
        elif name == "seed":
            await side.seed(**command)
            await side.bare_seed(**command)
            gc.collect()
        else:
            await getattr(side, name)(**command)
        loop_out.write(json.dumps(answer) + "\n")
        loop_out.flush()


if __name__ == "__main__":
    asyncio.run(main())
