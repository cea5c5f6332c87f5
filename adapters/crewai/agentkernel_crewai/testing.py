"""A scripted CrewAI model: test crews through the kernel with no network and no API key.

:class:`ScriptedLLM` is a real ``crewai.llms.base_llm.BaseLLM``. Each call hands the texts it
received to a Python function and answers with what the function returns, wrapped in the
``Final Answer:`` form CrewAI's agent loop parses, so the function's answer becomes the task's
output verbatim.

The texts are, in order, the content of every message of the call and, for every line of the form
``User: ...`` or ``Assistant: ...`` (how CrewAI writes the conversation history the adapter gives
it into a task), the text after the speaker. A conversation message therefore appears on its own,
exactly as it was said; a message spanning several lines is cut at its first line break.

Example:
    >>> llm = ScriptedLLM(lambda texts: "4417")
    >>> llm.call([{"role": "user", "content": "What is the code?"}]).endswith("Final Answer: 4417")
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from crewai.llms.base_llm import BaseLLM

__all__ = ["ScriptedLLM", "message_texts", "one_agent_crew"]

_SPEAKERS = ("User: ", "Assistant: ", "System: ", "Tool: ")


def message_texts(messages: str | Sequence[Any]) -> list[str]:
    """The texts a :class:`ScriptedLLM` hands its function for one call's ``messages``."""
    contents: list[str] = []
    if isinstance(messages, str):
        contents.append(messages)
    else:
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else getattr(message, "content", None)
            if isinstance(content, str):
                contents.append(content)
    texts = list(contents)
    for content in contents:
        for line in content.splitlines():
            for speaker in _SPEAKERS:
                if line.startswith(speaker):
                    texts.append(line[len(speaker) :])
                    break
    return texts


class ScriptedLLM(BaseLLM):
    """A CrewAI model whose answers come from ``respond(texts)``.

    Args:
        respond: Gets the texts of one call (see the module docstring), returns the answer.
            If it raises, the call raises the same exception.
        model: The model name CrewAI shows.

    Attributes:
        calls: The texts of every call so far, in order (shared by the copies CrewAI makes).
    """

    def __init__(self, respond: Callable[[list[str]], str], model: str = "scripted") -> None:
        super().__init__(model=model)
        self.respond = respond
        self.calls: list[list[str]] = []

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        """Answer one model call with ``respond``'s text as CrewAI's final answer."""
        texts = message_texts(messages)
        self.calls.append(texts)
        answer = self.respond(texts)
        self._track_token_usage_internal(
            {"prompt_tokens": sum(len(t.split()) for t in texts), "completion_tokens": len(answer.split())}
        )
        return f"Thought: I now know the final answer\nFinal Answer: {answer}"

    def supports_function_calling(self) -> bool:
        """No native tool calling: CrewAI uses its text (ReAct) protocol."""
        return False

    def supports_stop_words(self) -> bool:
        """Stop words are not needed: answers are whole."""
        return False

    def get_context_window_size(self) -> int:
        """A large window, so CrewAI never trims the conversation."""
        return 128_000


def one_agent_crew(
    respond: Callable[[list[str]], str],
    *,
    role: str = "helper",
    task: str = "Answer the user.",
    **agent_options: Any,
) -> Any:
    """A one-agent, one-task ``Crew`` whose model answers with ``respond(texts)``.

    ``texts`` are the contents of every message the model received. Handy for testing what
    reaches a CrewAI crew through agentkernel. ``agent_options`` go to ``crewai.Agent``.
    """
    from crewai import Agent, Crew, Task

    options: dict[str, Any] = {"goal": "Help the user.", "backstory": "A careful assistant.", "max_retry_limit": 0}
    options.update(agent_options)
    agent = Agent(role=role, llm=ScriptedLLM(respond), **options)
    return Crew(agents=[agent], tasks=[Task(description=task, expected_output="The answer.", agent=agent)])
