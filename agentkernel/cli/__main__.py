"""``python -m agentkernel.cli``: the ``agentkernel`` command."""

from agentkernel.cli._app import app

app()
