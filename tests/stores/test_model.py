"""The model-based store and runner test (agentkernel.testing.ModelContract) on every store.

CI runs a bounded number of examples; ``AK_MODEL_EXAMPLES=2000`` (and ``AK_MODEL_STEPS``) asks
for a long exploration.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from agentkernel.stores import InMemoryStore
from agentkernel.stores.base import SessionStore
from agentkernel.testing.model_contract import ModelContract

EXAMPLES = int(os.environ.get("AK_MODEL_EXAMPLES", "0"))
STEPS = int(os.environ.get("AK_MODEL_STEPS", "0"))


def bounded(examples: int, steps: int) -> tuple[int, int]:
    return (EXAMPLES or examples, STEPS or steps)


class TestModelInMemory(ModelContract):
    CLOCK = True
    EXAMPLES, STEPS = bounded(60, 40)

    def make_store(self, *, ttl: float = 0, clock: Callable[[], float] | None = None) -> SessionStore:
        return InMemoryStore(ttl=ttl, clock=clock or time.time)
