"""chDB (current ClickHouse, in-process) behind the `SqlRunner` interface."""

from __future__ import annotations

from typing import Any

import orjson
from chdb import session

from schemas.clickhouse.render import MODERN
from schemas.clickhouse.tables import Table


class ChdbRunner:
    def __init__(self, path: str) -> None:
        self.session = session.Session(path)

    def execute(self, query: str) -> list[tuple[Any, ...]]:
        result = self.session.query(query, "JSONCompact")
        data = result.bytes()
        return [tuple(row) for row in orjson.loads(data)["data"]] if data else []

    def version(self) -> str:
        return str(self.execute("SELECT version()")[0][0])

    def insert_rows(self, database: str, table: Table, rows: list[tuple[Any, ...]]) -> None:
        """Inserts logical rows the way the sink builds them, through the modern rendering."""
        names = MODERN.physical_names(table)
        columns = MODERN.physical_columns(table, rows)
        kinds = {c.name: c.type for c in table.columns}
        lines = []
        for values in zip(*columns, strict=True):
            record = {}
            for name, value in zip(names, values, strict=True):
                if kinds.get(name) == "time_ms":
                    value = f"{value // 1000}.{value % 1000:03d}"
                record[name] = value
            lines.append(orjson.dumps(record))
        body = b"\n".join(lines).decode()
        self.session.query(f"INSERT INTO {database}.{table.name} FORMAT JSONEachRow\n{body}")

    def close(self) -> None:
        self.session.close()
