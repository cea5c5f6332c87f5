"""The DynamoDB session store (``AK_SESSION__TYPE=dynamodb``, extra ``agentkernel[dynamodb]``).

Example:
    >>> from agentkernel.stores.dynamodb import DynamoDBStore
    >>> store = DynamoDBStore(table_name="agentkernel-sessions", region="eu-west-1")  # doctest: +SKIP
"""

from agentkernel.stores.dynamodb._client import CommitTooLarge, TableMissing
from agentkernel.stores.dynamodb._store import DynamoDBOptions, DynamoDBStore, setup

__all__ = ["CommitTooLarge", "DynamoDBOptions", "DynamoDBStore", "TableMissing", "setup"]
