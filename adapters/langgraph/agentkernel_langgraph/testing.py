"""A scripted chat model for testing LangGraph agents offline, with no API key.

:class:`FunctionChatModel` answers every call by calling a Python function with the messages it
received. Return a string for a plain answer, or an ``AIMessage`` (with ``tool_calls``) to make
a tool-calling agent call a tool.

Example:
    >>> model = FunctionChatModel(lambda messages: f"you said {messages[-1].content}")
    >>> model.invoke("hi").content
    'you said hi'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph

__all__ = ["FunctionChatModel", "Reply", "text_graph"]

Reply = Callable[[list[BaseMessage]], "str | AIMessage"]
"""Gets the messages a model call received, returns the answer text or an ``AIMessage``."""


class FunctionChatModel(BaseChatModel):
    """A chat model whose answers come from a Python function.

    Token usage is reported as one token per whitespace-separated word in and out, so usage
    accounting can be tested too.

    Args:
        reply: Called with the messages of each model call.
        model_name: Reported as the model's name in steps.
    """

    reply: Reply
    model_name: str = "function-model"

    def __init__(self, reply: Reply, *, model_name: str = "function-model", **kwargs: Any) -> None:
        super().__init__(reply=reply, model_name=model_name, **kwargs)

    @property
    def _llm_type(self) -> str:
        return "agentkernel-function"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        answer = self.reply(list(messages))
        message = answer if isinstance(answer, AIMessage) else AIMessage(content=answer)
        if message.usage_metadata is None:
            words_in = sum(len(m.text.split()) for m in messages)
            words_out = len(message.text.split())
            message = message.model_copy(
                update={
                    "usage_metadata": {
                        "input_tokens": words_in,
                        "output_tokens": words_out,
                        "total_tokens": words_in + words_out,
                    },
                    "response_metadata": {**message.response_metadata, "model_name": self.model_name},
                }
            )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Accept tools (the reply function decides which to call) and return the model itself."""
        return self


def text_graph(respond: Callable[[list[str]], str], *, name: str = "probe") -> CompiledStateGraph[Any, Any, Any, Any]:
    """A one-node graph over messages whose model answers with ``respond(texts)``.

    ``texts`` are the contents of every message the model received, oldest first. Handy for
    testing what reaches a LangGraph agent through agentkernel.
    """
    model = FunctionChatModel(lambda messages: respond([m.text for m in messages]))

    def call_model(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", call_model)
    builder.add_edge(START, "model")
    return builder.compile(name=name)
