"""The DynamoDB store's options: declared once, here; the store and :func:`setup` are built from them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DynamoDBOptions"]


class DynamoDBOptions(BaseModel):
    """Options of the DynamoDB store (``AK_SESSION__DYNAMODB__*``). Credentials come from boto3's chain."""

    model_config = ConfigDict(extra="forbid")

    table_name: str = Field(
        default="agentkernel-sessions", min_length=3, max_length=255, description="The table (made by `setup`)."
    )
    region: str = Field(default="us-east-1", min_length=1, description="AWS region of the table.")
    endpoint_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+",
        description="Endpoint of a local or compatible server, e.g. http://127.0.0.1:8000.",
    )
    chunk_size: int = Field(
        default=350_000, ge=1024, le=390_000, description="Bytes per item when a record is split (items hold 400 KB)."
    )
    compress_over: int = Field(
        default=4096, ge=0, description="Records longer than this many bytes are zlib-compressed when that helps."
    )
    cleanup_slack: int = Field(
        default=7 * 86400,
        ge=0,
        description="Seconds DynamoDB's per-item TTL runs past a session's expiry (at least twice AK_SESSION__TTL).",
    )
    connect_timeout: float = Field(default=3.0, gt=0, description="Seconds to wait for a connection.")
    read_timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for a response.")
    max_attempts: int = Field(default=4, ge=1, le=10, description="Tries per request, boto3's retries included.")
    max_pool_connections: int = Field(default=16, ge=1, le=256, description="Connections and worker threads.")
