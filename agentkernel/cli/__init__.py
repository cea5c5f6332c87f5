"""The ``agentkernel`` command and ``CLI.main()`` (extra ``agentkernel[cli]``).

``CLI.main()`` at the bottom of a file of agents opens a chat with them; the console command does
the same for any module or file: ``agentkernel chat examples/assistant.py``.
"""

from agentkernel.cli._app import CLI, app

__all__ = ["CLI", "app"]
