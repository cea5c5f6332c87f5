"""``GET /openapi.json`` and ``GET /docs``: behind the API keys when keys are set, and offline.

FastAPI's own routes for these are open to anyone and load Swagger UI from a CDN. Ours need a key
like every other route but ``/health`` (a schema tells an attacker what to try), and serve Swagger
UI's files from the ``swagger-ui-bundle-v2`` package, so the page works with no internet.
"""

from __future__ import annotations

from typing import Any

from agentkernel._optional import require

require("fastapi", extra="http", feature="the HTTP front end")

from fastapi import Depends, FastAPI  # noqa: E402
from fastapi.openapi.docs import get_swagger_ui_html  # noqa: E402
from fastapi.openapi.utils import get_openapi  # noqa: E402
from fastapi.responses import HTMLResponse, JSONResponse  # noqa: E402
from fastapi.staticfiles import StaticFiles  # noqa: E402

__all__ = ["ASSETS_PATH", "install_docs"]

ASSETS_PATH = "/docs/assets"
"""Where Swagger UI's JavaScript and CSS are served from (no key needed: they hold no data)."""

_SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def install_docs(app: FastAPI, caller: Any, *, keys_required: bool) -> None:
    """Add ``/openapi.json``, ``/docs`` and Swagger UI's assets to ``app``.

    Args:
        app: An app made with ``openapi_url=None`` and ``docs_url=None``.
        caller: The dependency that checks the API key (it raises 401 when keys are set).
        keys_required: Whether API keys are configured; the schema then declares them as the
            security of every operation but ``GET /health``.
    """
    bundle = require("swagger_ui_bundle", extra="http", feature="the API docs page (/docs)")
    app.mount(ASSETS_PATH, StaticFiles(directory=str(bundle.swagger_ui_path)), name="docs-assets")

    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            _no_null_parameters(document)
            if keys_required:
                _declare_security(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = schema  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(caller)])
    async def openapi() -> JSONResponse:
        return JSONResponse(schema())

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(caller)])
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - API docs",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        )


def _declare_security(document: dict[str, Any]) -> None:
    document.setdefault("components", {})["securitySchemes"] = _SECURITY_SCHEMES
    for path, operations in document.get("paths", {}).items():
        if path == "/health":
            continue
        for operation in operations.values():
            operation["security"] = [{"bearer": []}, {"apiKey": []}]


def _no_null_parameters(document: dict[str, Any]) -> None:
    """Say ``string`` for an optional parameter, not ``string or null``: a query string is never null."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                schema = parameter.get("schema", {})
                choices = [choice for choice in schema.get("anyOf", ()) if choice != {"type": "null"}]
                if "anyOf" in schema and len(choices) == 1:
                    del schema["anyOf"]
                    schema.update(choices[0])
