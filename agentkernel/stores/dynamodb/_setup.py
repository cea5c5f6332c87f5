"""Creating the DynamoDB store's table: done once, explicitly, never on first use.

:func:`setup_table` creates the table (on-demand billing) with its ``by-user`` index, waits until
it is active and turns on DynamoDB's TTL on the ``ttl`` attribute. Running it again changes
nothing; a table of the same name with another key schema is reported, not altered.
"""

from __future__ import annotations

import logging
from typing import Any

from agentkernel.errors import ConfigError

__all__ = ["USER_INDEX", "setup_table"]

logger = logging.getLogger(__name__)

USER_INDEX = "by-user"
"""The global secondary index listing a user's sessions by last update: (``uid``, ``upd``)."""


def _table_definition(table_name: str) -> dict[str, Any]:
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "uid", "AttributeType": "S"},
            {"AttributeName": "upd", "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": USER_INDEX,
                "KeySchema": [
                    {"AttributeName": "uid", "KeyType": "HASH"},
                    {"AttributeName": "upd", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["rec", "exp"]},
            }
        ],
    }


def setup_table(client: Any, table_name: str, *, wait_seconds: int = 300) -> bool:
    """Create the table and its index if missing, wait until active, enable TTL. Idempotent.

    Args:
        client: A boto3 DynamoDB client.
        table_name: The table to create.
        wait_seconds: How long to wait for the table to become active.

    Returns:
        Whether the table was created by this call.

    Raises:
        ConfigError: a table of that name exists with another key schema or without the index.
        botocore errors: the call failed (the store translates them to ``StoreUnavailable``).
    """
    errors = client.exceptions
    created = False
    try:
        client.create_table(**_table_definition(table_name))
        created = True
        logger.info("created DynamoDB table %s", table_name)
    except errors.ResourceInUseException:
        pass  # it exists (or is being created); check it below
    delay = 2 if wait_seconds >= 2 else 1
    client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": delay, "MaxAttempts": max(1, wait_seconds // delay)}
    )
    _check_schema(client.describe_table(TableName=table_name)["Table"])
    ttl = client.describe_time_to_live(TableName=table_name).get("TimeToLiveDescription", {})
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        client.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
        )
    return created


def _check_schema(table: dict[str, Any]) -> None:
    name = table.get("TableName", "?")
    keys = {k["AttributeName"]: k["KeyType"] for k in table.get("KeySchema", [])}
    if keys != {"pk": "HASH", "sk": "RANGE"}:
        raise ConfigError(
            f"DynamoDB table {name!r} exists with key schema {keys}, not pk (HASH) + sk (RANGE); "
            "point AK_SESSION__DYNAMODB__TABLE_NAME at a table of its own"
        )
    indexes = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    if USER_INDEX not in indexes:
        raise ConfigError(
            f"DynamoDB table {name!r} has no {USER_INDEX!r} index, so sessions cannot be listed; "
            "point AK_SESSION__DYNAMODB__TABLE_NAME at a table of its own"
        )
