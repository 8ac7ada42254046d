"""The sink's connection to ClickHouse (clickhouse-driver, native protocol)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from clickhouse_driver import Client

from schemas.clickhouse.render import Dialect
from trackflow.settings import Settings

log = logging.getLogger(__name__)

# Connecting to a server on the same network takes milliseconds; 5 s means it is down.
CONNECT_TIMEOUT_S = 5
# A 50,000-row insert takes well under a second; a minute means the server is stuck.
SEND_RECEIVE_TIMEOUT_S = 60


class ClickHouse:
    """One connection; every call may raise what clickhouse-driver raises."""

    def __init__(self, settings: Settings) -> None:
        self.host = settings.clickhouse_host
        self.port = settings.clickhouse_port
        self._client = Client(
            host=settings.clickhouse_host,
            port=settings.clickhouse_port,
            user=settings.clickhouse_user,
            password=settings.clickhouse_password,
            connect_timeout=CONNECT_TIMEOUT_S,
            send_receive_timeout=SEND_RECEIVE_TIMEOUT_S,
            sync_request_timeout=CONNECT_TIMEOUT_S,
        )

    def execute(self, query: str) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._client.execute(query)
        return rows

    def insert_columns(
        self,
        table: str,
        names: Sequence[str],
        columns: Sequence[Sequence[Any]],
        settings: dict[str, Any] | None = None,
    ) -> None:
        self._client.execute(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES",
            columns,
            columnar=True,
            types_check=False,
            settings=settings,
        )

    def server_version(self) -> str:
        (version,) = self.execute("SELECT version()")[0]
        return str(version)

    def dialect(self) -> Dialect:
        version = self.server_version()
        dialect = Dialect.for_version(version)
        log.info(
            "clickhouse %s:%d version=%s dialect=%s", self.host, self.port, version, dialect.name
        )
        return dialect

    def disconnect(self) -> None:
        self._client.disconnect()
