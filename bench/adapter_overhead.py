"""The kernel's own cost per turn, for each framework, with the in-memory store.

For each framework the same agent, driven by a scripted model, runs the same conversations twice,
interleaved: bare (the framework's own run and its own in-memory memory) and through
``Runner.run`` (lease, load, adapter, version-checked commit). The difference per turn is what
agentkernel costs. Medians of several rounds; CPU time of this process, because wall-clock time
on a shared machine is mostly other people's work.

Run:
    .venv/bin/python bench/adapter_overhead.py
    .venv/bin/python bench/adapter_overhead.py --frameworks scripted,langgraph --sessions 10 --turns 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agentkernel import InMemoryStore, Message, Runner, Session
from agentkernel.adapter import RunContext
from agentkernel.settings import load_settings
from agentkernel.testing import ScriptedAdapter, ScriptedAgent

BareRun = Callable[[str, str], Awaitable[str]]


@dataclass
class Framework:
    """One framework's agent, and how to run it bare."""

    agent: Any
    bare: Callable[[], BareRun]


def reply(texts: list[str]) -> str:
    return f"answer {len(texts)}"


def scripted() -> Framework:
    agent = ScriptedAgent("bench", replies=[lambda ctx: reply([m.content for m in ctx.messages])])
    adapter = ScriptedAdapter()

    def bare() -> BareRun:
        sessions: dict[str, Session] = {}

        async def run(sid: str, prompt: str) -> str:
            session = sessions.setdefault(sid, Session(sid))
            messages = [Message(role="user", content=prompt)]
            context = RunContext(session, "bench", messages, session.namespace("scripted"), session.recent_turns())
            return (await adapter.run(agent, context)).output

        return run

    return Framework(agent, bare)


def langgraph() -> Framework:
    from agentkernel_langgraph.testing import text_graph
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.memory import InMemorySaver

    graph = text_graph(reply, name="bench").copy(update={"checkpointer": InMemorySaver()})

    def bare() -> BareRun:
        async def run(sid: str, prompt: str) -> str:
            config: Any = {"configurable": {"thread_id": sid}}
            state = await graph.ainvoke({"messages": [HumanMessage(prompt)]}, config, durability="exit")
            return str(state["messages"][-1].text)

        return run

    return Framework(graph, bare)


def openai_agents() -> Framework:
    from agentkernel_openai_agents.testing import FunctionModel
    from agents import Agent, RunConfig, SQLiteSession
    from agents import Runner as SDKRunner

    agent = Agent(name="bench", model=FunctionModel(reply))

    def bare() -> BareRun:
        sessions: dict[str, SQLiteSession] = {}
        config = RunConfig(tracing_disabled=True)

        async def run(sid: str, prompt: str) -> str:
            session = sessions.setdefault(sid, SQLiteSession(sid))
            result = await SDKRunner.run(agent, prompt, session=session, run_config=config)
            return str(result.final_output)

        return run

    return Framework(agent, bare)


def crewai() -> Framework:
    from agentkernel_crewai import quiet_crewai

    quiet_crewai()
    from agentkernel_crewai.testing import one_agent_crew

    crew = one_agent_crew(reply, role="bench", task="Answer: {prompt}")

    def bare() -> BareRun:
        async def run(sid: str, prompt: str) -> str:
            output = await asyncio.to_thread(crew.copy().kickoff, inputs={"prompt": prompt})
            return str(output.raw)

        return run

    return Framework(crew, bare)


FRAMEWORKS: dict[str, Callable[[], Framework]] = {
    "scripted": scripted,
    "langgraph": langgraph,
    "openai_agents": openai_agents,
    "crewai": crewai,
}


async def per_turn(run: BareRun, sessions: int, turns: int, tag: str) -> float:
    """CPU seconds per turn for ``sessions`` conversations of ``turns`` turns each."""
    started = time.process_time()
    for t in range(turns):
        await asyncio.gather(*(run(f"{tag}-{s}", f"question {t}") for s in range(sessions)))
    return (time.process_time() - started) / (sessions * turns)


async def measure(framework: Framework, sessions: int, turns: int, rounds: int) -> tuple[float, float]:
    bare_times, kernel_times = [], []
    for r in range(rounds):
        bare_times.append(await per_turn(framework.bare(), sessions, turns, f"bare{r}"))
        runner = Runner(InMemoryStore(), settings=load_settings())

        async def through_kernel(sid: str, prompt: str, runner: Runner = runner) -> str:
            return (await runner.run(framework.agent, sid, prompt)).output or ""

        kernel_times.append(await per_turn(through_kernel, sessions, turns, f"kernel{r}"))
    return statistics.median(bare_times), statistics.median(kernel_times)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="ak-bench-home-")
    os.environ.update(HOME=home, XDG_DATA_HOME=os.path.join(home, "data"))  # CrewAI writes into HOME
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {args.sessions} sessions x {args.turns} turns, "
        f"median of {args.rounds} rounds; CPU ms per turn"
    )
    print(f"{'framework':<15}{'bare':>10}{'kernel':>10}{'kernel cost':>13}{'ratio':>8}")
    for name in args.frameworks.split(","):
        bare, kernel = await measure(FRAMEWORKS[name](), args.sessions, args.turns, args.rounds)
        print(f"{name:<15}{bare * 1e3:>10.3f}{kernel * 1e3:>10.3f}{(kernel - bare) * 1e3:>13.3f}{kernel / bare:>8.2f}")
    print("target: kernel cost under 2 ms per turn")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
