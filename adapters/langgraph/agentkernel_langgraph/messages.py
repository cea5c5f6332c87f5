"""Between agentkernel's neutral transcript and LangChain messages, both ways.

Going in, the neutral history (:mod:`agentkernel.history`) and the run's prompt become LangChain
messages. Coming out, the
messages a graph's nodes write become transcript steps: a model call for every ``AIMessage``
(with its token usage) and a tool call for every ``ToolMessage`` (with the arguments the model
asked for and the tool's result).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agentkernel.transcript import Message, Step, Usage

__all__ = ["StepRecorder", "as_text", "to_langchain"]


def to_langchain(messages: Iterable[Message]) -> list[BaseMessage]:
    """Neutral messages (this run's input, or :meth:`RunContext.history_messages`) as LangChain
    messages: an assistant message's tool calls become the ``AIMessage``'s ``tool_calls`` and a
    ``tool`` message answering one becomes the ``ToolMessage`` with that call id.

    A ``tool`` message with no call id comes in as a user message named after the tool: a model
    API would refuse a tool result that answers no call.
    """
    out: list[BaseMessage] = []
    for message in messages:
        if message.role == "assistant":
            calls = [
                {"id": call.id, "name": call.name, "args": _args(call.arguments), "type": "tool_call"}
                for call in message.tool_calls or []
            ]
            out.append(AIMessage(content=message.content, name=message.name, tool_calls=calls))
        elif message.role == "system":
            out.append(SystemMessage(content=message.content))
        elif message.role == "tool" and message.tool_call_id is not None:
            out.append(ToolMessage(content=message.content, tool_call_id=message.tool_call_id, name=message.name))
        elif message.role == "tool":
            out.append(HumanMessage(content=message.content, name=message.name or "tool"))
        else:
            out.append(HumanMessage(content=message.content, name=message.name))
    return out


def _args(arguments: Any) -> dict[str, Any]:
    # LangChain tool calls take a dict of arguments; anything else is wrapped.
    if isinstance(arguments, dict):
        return arguments
    return {} if arguments is None else {"input": arguments}


def as_text(value: object) -> str:
    """Message content or an interrupt value as plain text."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseMessage):
        return value.text
    return json.dumps(jsonable(value), ensure_ascii=False)


def jsonable(value: object) -> Any:
    """``value`` as JSON data for a step (objects that are not JSON become their ``repr``)."""
    return json.loads(json.dumps(value, default=repr))


class StepRecorder:
    """Turns the updates a graph streams into steps, in order, and remembers the last answer.

    Args:
        agent: The agent's name, recorded on every step.
    """

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self.steps: list[Step] = []
        self.last_answer: str | None = None
        self._calls: dict[str, tuple[str, Any]] = {}
        self._since = time.time()

    def feed(self, node: str, update: object) -> list[Step]:
        """Record the messages one node wrote; return the new steps."""
        new: list[Step] = []
        for message in _messages_in(update):
            step = self._step(node, message)
            if step is not None:
                new.append(step)
        self._since = time.time()
        self.steps.extend(new)
        return new

    def _step(self, node: str, message: BaseMessage) -> Step | None:
        now = time.time()
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                if call.get("id"):
                    self._calls[str(call["id"])] = (call["name"], jsonable(call["args"]))
            text = message.text
            if text or not message.tool_calls:
                self.last_answer = text
            model = message.response_metadata.get("model_name") or message.response_metadata.get("model") or node
            return Step(
                kind="model_call",
                name=str(model),
                agent=self.agent,
                result=text,
                arguments={"tool_calls": [c["name"] for c in message.tool_calls]} if message.tool_calls else None,
                started_at=self._since,
                ended_at=now,
                usage=_usage(message),
            )
        if isinstance(message, ToolMessage):
            name, arguments = self._calls.get(message.tool_call_id, (message.name or "tool", None))
            result = message.content if isinstance(message.content, str) else jsonable(message.content)
            return Step(
                kind="tool_call",
                name=message.name or name,
                agent=self.agent,
                arguments=arguments,
                result=result,
                error=as_text(message.content) if message.status == "error" else None,
                started_at=self._since,
                ended_at=now,
            )
        return None

    def usage(self) -> Usage | None:
        """Token usage summed over the recorded model calls, or ``None`` if none reported any."""
        reported = [step.usage for step in self.steps if step.usage is not None]
        if not reported:
            return None
        total = Usage()
        for usage in reported:
            total = total + usage
        return total


def _messages_in(update: object) -> Iterator[BaseMessage]:
    """The messages inside one node's update (a dict of channel values, or a list of them)."""
    if isinstance(update, BaseMessage):
        yield update
    elif isinstance(update, dict):
        for value in update.values():
            yield from _messages_in(value)
    elif isinstance(update, Sequence) and not isinstance(update, (str, bytes)):
        for item in update:
            if isinstance(item, (BaseMessage, dict, list, tuple)):
                yield from _messages_in(item)


def _usage(message: AIMessage) -> Usage | None:
    meta = message.usage_metadata
    if not meta:
        return None
    return Usage(
        input_tokens=meta.get("input_tokens", 0),
        output_tokens=meta.get("output_tokens", 0),
        total_tokens=meta.get("total_tokens", 0),
        requests=1,
    )
