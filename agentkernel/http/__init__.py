"""The HTTP front end (extra ``agentkernel[http]``): ``POST /run``, sessions, agents and health.

Run it with ``agentkernel serve examples/assistant.py``, or with uvicorn directly
(``AK_API__AGENTS=examples/assistant.py uvicorn --factory agentkernel.http:create_app``).
"""

from agentkernel.http._app import HEALTH_PROBE_ID, create_app

__all__ = ["HEALTH_PROBE_ID", "create_app"]
