"""Token usage is the same whether a turn ran with ``run`` or was streamed.

Chat Completions streams report usage only when the request asks for it
(``stream_options.include_usage``), and the SDK asks only the official OpenAI endpoint. A fake
OpenAI-compatible server (an httpx transport, no socket) answers like such providers do: with a
final usage chunk only when asked.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from agentkernel_openai_agents.testing import FunctionModel
from agents import Agent, ModelSettings, OpenAIChatCompletionsModel, RunConfig
from openai import AsyncOpenAI

from agentkernel.runner import Runner
from agentkernel.session import Session
from agentkernel.settings import load_settings
from agentkernel.stores.memory import InMemoryStore
from agentkernel.transcript import Turn, Usage

ANSWER = "Paris is the capital of France."
PIECES = ["Paris", " is the", " capital", " of France."]
USAGE = {"prompt_tokens": 17, "completion_tokens": 7, "total_tokens": 24}


class FakeChatCompletions:
    """An OpenAI-compatible ``/chat/completions`` that reports usage as real providers do."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        base = {"id": "chatcmpl-1", "created": 1, "model": body["model"]}
        if not body.get("stream"):
            message = {"role": "assistant", "content": ANSWER}
            completion = {**base, "object": "chat.completion", "usage": USAGE,
                          "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
            return httpx.Response(200, json=completion)
        chunk = {**base, "object": "chat.completion.chunk"}
        chunks = [{**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
        chunks += [
            {**chunk, "choices": [{"index": 0, "delta": {"content": piece}}]} for piece in PIECES
        ]
        chunks.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**chunk, "choices": [], "usage": USAGE})
        text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})


def chat_agent(server: FakeChatCompletions, **settings: Any) -> Agent[Any]:
    client = AsyncOpenAI(
        api_key="not-a-key",
        base_url="http://provider.invalid/v1",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
    )
    model = OpenAIChatCompletionsModel(model="some-model", openai_client=client)
    return Agent(name="chat", model=model, model_settings=ModelSettings(**settings))


def runner() -> Runner:
    return Runner(InMemoryStore(), settings=load_settings())


async def run_and_stream(agent: Agent[Any], **options: Any) -> tuple[Turn, Turn]:
    run = runner()
    run.register(agent, name="probe", **options)
    ran = await run.run("probe", Session(), "Capital of France?")
    events = [event async for event in run.stream("probe", Session(), "Capital of France?")]
    streamed = next(event.turn for event in events if event.type == "turn" and event.turn is not None)
    return ran, streamed


async def test_a_streamed_chat_completions_turn_records_the_same_usage_as_a_run() -> None:
    server = FakeChatCompletions()
    ran, streamed = await run_and_stream(chat_agent(server))
    expected = Usage(input_tokens=17, output_tokens=7, total_tokens=24, requests=1)
    assert ran.usage == expected
    assert streamed.output == ran.output == ANSWER
    assert streamed.usage == expected
    assert [step.usage for step in streamed.steps] == [step.usage for step in ran.steps]
    assert server.requests[-1]["stream_options"] == {"include_usage": True}


async def test_an_explicit_include_usage_false_is_respected() -> None:
    server = FakeChatCompletions()
    _, streamed = await run_and_stream(chat_agent(server, include_usage=False))
    assert server.requests[-1].get("stream_options") == {"include_usage": False}
    assert streamed.usage == Usage(requests=1)


async def test_run_config_model_settings_are_kept_when_asking_for_usage() -> None:
    server = FakeChatCompletions()
    config = RunConfig(model_settings=ModelSettings(temperature=0.25))
    _, streamed = await run_and_stream(chat_agent(server), run_config=config)
    assert server.requests[-1]["temperature"] == 0.25
    assert server.requests[-1]["stream_options"] == {"include_usage": True}
    assert streamed.usage is not None
    assert streamed.usage.total_tokens == 24


@pytest.mark.parametrize("reply", ["one two three", "a longer answer of seven words here"])
async def test_the_scripted_model_records_equal_usage_run_or_streamed(reply: str) -> None:
    agent = Agent(name="scripted", model=FunctionModel(lambda texts: reply))
    ran, streamed = await run_and_stream(agent)
    assert ran.usage is not None
    assert ran.usage.output_tokens == len(reply.split())
    assert streamed.usage == ran.usage
