"""The boto3 side of the DynamoDB store: making a client, and turning boto errors into ours.

boto3 is imported here on first use only, through :func:`agentkernel._optional.require`, so
``import agentkernel`` never needs it.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from agentkernel._optional import require
from agentkernel.errors import ConfigError, SessionTooLarge, StoreUnavailable
from agentkernel.stores.dynamodb._options import DynamoDBOptions

__all__ = ["CommitTooLarge", "TableMissing", "boto_errors", "error_code", "make_client", "translate"]

_UNREACHABLE_HINT = "check the endpoint, the network and AWS status, then retry"


class TableMissing(StoreUnavailable, ConfigError):
    """The DynamoDB table does not exist (or is in another region or account)."""

    def __init__(self, table_name: str, region: str) -> None:
        self.table_name = table_name
        super().__init__(
            f"DynamoDB table {table_name!r} does not exist in region {region!r}; create it once with "
            "`agentkernel store setup` or `await DynamoDBStore(...).setup()` "
            "(or set AK_SESSION__DYNAMODB__TABLE_NAME / __REGION to the table you made)"
        )


class CommitTooLarge(SessionTooLarge):
    """A commit would write a header item over DynamoDB's item limit. Nothing was written.

    The header holds the session's name and tags beside the store's bookkeeping, and one DynamoDB
    item holds 400 KB; everything else of a session is split over as many items as it needs.
    """

    def __init__(self, session_id: str, size: int, limit: int) -> None:
        self.session_id = session_id
        self.size = size
        self.limit = limit
        # SessionTooLarge's own message is about AK_SESSION__MAX_BYTES; this limit is DynamoDB's.
        Exception.__init__(
            self,
            f"session {session_id!r} would need a header item of {size} bytes (its name, its tags and "
            f"the store's bookkeeping), over the {limit} bytes one DynamoDB item may hold; shorten the "
            "name or use fewer tags",
        )


def boto3_module() -> ModuleType:
    """boto3, or a clear error naming the extra that installs it."""
    return require("boto3", extra="dynamodb", feature="the DynamoDB session store")


def boto_errors() -> ModuleType:
    """``botocore.exceptions`` (installed with boto3)."""
    boto3_module()
    return require("botocore.exceptions", extra="dynamodb", feature="the DynamoDB session store")


def make_client(options: DynamoDBOptions) -> Any:
    """A DynamoDB client with bounded retries and timeouts; credentials from boto3's usual chain."""
    boto3 = boto3_module()
    config_module = require("botocore.config", extra="dynamodb", feature="the DynamoDB session store")
    config = config_module.Config(
        retries={"mode": "standard", "max_attempts": options.max_attempts},
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        max_pool_connections=options.max_pool_connections,
    )
    # A session of our own: boto3's default session is not safe to share between threads.
    return boto3.session.Session().client(
        "dynamodb", region_name=options.region, endpoint_url=options.endpoint_url, config=config
    )


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ``ClientError`` (empty for other errors)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def translate(exc: BaseException, *, action: str, table_name: str, region: str) -> Exception:
    """Our error for a boto3 error raised while doing ``action``."""
    errors = boto_errors()
    code = error_code(exc)
    if code == "ResourceNotFoundException":
        return TableMissing(table_name, region)
    if isinstance(exc, errors.NoCredentialsError):
        return StoreUnavailable(
            f"DynamoDB could not {action}: no AWS credentials found; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an IAM role"
        )
    if code in {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}:
        return StoreUnavailable(
            f"DynamoDB throttled the request to {action} on table {table_name!r} even after retries "
            f"({code}); retry later or raise the table's capacity; nothing was written"
        )
    if isinstance(exc, errors.ClientError):
        message = exc.response.get("Error", {}).get("Message", "")
        return StoreUnavailable(
            f"DynamoDB refused to {action} on table {table_name!r}: {code}: {message}; nothing was written"
        )
    return StoreUnavailable(f"DynamoDB could not {action}: {exc}; {_UNREACHABLE_HINT}")
