"""Two offline example agents that share one session: no framework, no model, no API key.

* ``assistant`` remembers your name in the session's shared state ("my name is Ada", then
  "what is my name?").
* ``historian`` reads the session's transcript, including the turns other agents took
  ("what happened so far?").

Chat with them::

    agentkernel chat examples/assistant.py
    python examples/assistant.py            # the same, through CLI.main()

or serve them over HTTP::

    agentkernel serve examples/assistant.py
"""

from __future__ import annotations

import re

from agentkernel.adapter import RunContext
from agentkernel.testing import ScriptedAgent

_INTRODUCTION = re.compile(r"\b(?:my name is|call me|i am|i'm)\s+([A-Za-z][\w-]*)", re.IGNORECASE)


def remember_name(context: RunContext) -> str:
    """Learn the user's name from an introduction and use it afterwards."""
    prompt = context.prompt.strip()
    found = _INTRODUCTION.search(prompt)
    if found:
        name = found.group(1).capitalize()
        context.shared["user_name"] = name
        return f"Nice to meet you, {name}! I will remember your name for the rest of this session."
    name = context.shared.get("user_name")
    if "name" in prompt.lower() and "?" in prompt:
        if name:
            return f"Your name is {name}."
        return "I don't know your name yet. Tell me: \"my name is ...\"."
    greeting = f"{name}, " if name else ""
    return f"{greeting}you said: {prompt!r}. (I'm a scripted example agent; tell me your name and ask me about it.)"


def recount(context: RunContext) -> str:
    """Summarise the earlier turns of the session, whichever agent took them."""
    earlier = [turn for turn in context.history if turn.status == "ok"]
    if not earlier:
        return "Nothing has happened in this session yet."
    lines = [f"{len(earlier)} earlier turn{'s' if len(earlier) != 1 else ''}:"]
    lines += [f"- you asked {turn.agent}: {turn.prompt!r}" for turn in earlier[-5:]]
    name = context.shared.get("user_name")
    if name:
        lines.append(f"You told us your name is {name}.")
    return "\n".join(lines)


agents = [
    ScriptedAgent("assistant", replies=[remember_name], description="Remembers your name (scripted, offline)."),
    ScriptedAgent("historian", replies=[recount], description="Recounts this session's turns (scripted, offline)."),
]


if __name__ == "__main__":
    from agentkernel.cli import CLI  # only here, so that serving these agents needs no CLI extra

    CLI.main()
