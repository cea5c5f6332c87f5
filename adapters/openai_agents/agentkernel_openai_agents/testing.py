"""A model whose answers a Python function writes: test SDK agents with no network and no key.

:class:`FunctionModel` implements ``agents.models.interface.Model``. Each call hands the texts of
the call's input (the agent's instructions, then every message and tool output it was given,
oldest first) to your function, and answers with what it returns: a string becomes one assistant
message; a list of output items (``agents.testing.function_call(...)``, ``assistant_message(...)``)
is returned as it is, which is how a test scripts a tool call or a handoff. Streaming works too:
the answer comes back as Responses stream events. Token usage counts words.

Example:
    >>> from agents import Agent
    >>> agent = Agent(name="echo", model=FunctionModel(lambda texts: "you said " + texts[-1]))
    >>> agent.name
    'echo'
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from agents.items import ModelResponse, TResponseInputItem, TResponseOutputItem, TResponseStreamEvent
from agents.models.interface import Model, ModelTracing
from agents.testing import ModelStep, ScriptedModel, assistant_message
from agents.usage import Usage

if TYPE_CHECKING:
    from agents.agent_output import AgentOutputSchemaBase
    from agents.handoffs import Handoff
    from agents.model_settings import ModelSettings
    from agents.tool import Tool
    from openai.types.responses.response_prompt_param import ResponsePromptParam

__all__ = ["FunctionModel", "ModelReply", "input_texts"]

ModelReply = str | Sequence[TResponseOutputItem]
"""What the function returns: answer text, or output items (tool calls, handoffs, messages)."""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def input_texts(system_instructions: str | None, items: str | list[TResponseInputItem]) -> list[str]:
    """The texts a model call received: instructions, messages and tool outputs, oldest first."""
    texts = [system_instructions] if system_instructions else []
    if isinstance(items, str):
        return [*texts, items]
    for item in items:
        data: dict[str, Any] = dict(item)
        if data.get("type") == "function_call_output":
            texts.append(_content_text(data.get("output")))
        elif "role" in data and data.get("type", "message") == "message":
            texts.append(_content_text(data.get("content")))
    return texts


def _words(texts: Sequence[str]) -> int:
    return sum(len(text.split()) for text in texts)


class FunctionModel(Model):
    """An SDK model that answers with ``respond(texts)``.

    Args:
        respond: Gets the texts of each call's input, returns a :data:`ModelReply`. If it raises,
            the exception comes out of the SDK run.
        name: The model name recorded in the transcript.
    """

    def __init__(self, respond: Callable[[list[str]], ModelReply], *, name: str = "function-model") -> None:
        self.respond = respond
        self.model = name

    def _scripted(self) -> ScriptedModel:
        """A one-step SDK ``ScriptedModel`` for one call (no state is kept between calls)."""

        def reply(call: Any) -> ModelStep:
            texts = input_texts(call.system_instructions, call.input)
            answer = self.respond(texts)
            if isinstance(answer, str):
                output, written = [assistant_message(answer, item_id=f"msg_{uuid.uuid4().hex}")], [answer]
            else:
                output, written = list(answer), []
            usage = Usage(
                requests=1,
                input_tokens=_words(texts),
                output_tokens=_words(written),
                total_tokens=_words(texts) + _words(written),
            )
            return ModelStep(output=output, usage=usage, response_id=f"resp_{uuid.uuid4().hex}")

        return ScriptedModel([ModelStep.respond(reply)])

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> ModelResponse:
        """Answer one call."""
        return await self._scripted().get_response(
            system_instructions, input, model_settings, tools, output_schema, handoffs, tracing,
            previous_response_id=previous_response_id, conversation_id=conversation_id, prompt=prompt,
        )

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        """Answer one call as a stream of Responses events."""
        async for event in self._scripted().stream_response(
            system_instructions, input, model_settings, tools, output_schema, handoffs, tracing,
            previous_response_id=previous_response_id, conversation_id=conversation_id, prompt=prompt,
        ):
            yield event
