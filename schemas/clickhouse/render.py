"""Renders the logical tables of `tables.py` for one ClickHouse server.

`Dialect.for_version` picks the rendering from the server's version: current
servers get DateTime64(3), Map, LowCardinality, Bool, codecs, skip indexes and
TTL; older ones (Debian's 18.16) get the nearest types they have, with the
milliseconds of each time column in a column of their own. Both renderings
take the same logical row values (see `physical_columns`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.clickhouse.tables import Column, LogicalType, Table

# Bool, Map and DateTime64 without experimental settings arrived by 21.12;
# anything older gets the legacy rendering.
MODERN_SINCE = (22, 1)

_MODERN_TYPES: dict[LogicalType, str] = {
    "string": "String",
    "lowstring": "LowCardinality(String)",
    "uint16": "UInt16",
    "uint32": "UInt32",
    "uint64": "UInt64",
    "float64": "Float64",
    "bool": "Bool",
    "time_ms": "DateTime64(3)",
    "strmap": "Map(String, String)",
    "strarray": "Array(String)",
}

_LEGACY_TYPES: dict[LogicalType, str] = {
    **_MODERN_TYPES,
    "lowstring": "String",
    "bool": "UInt8",
    "time_ms": "DateTime",
}

Converter = Callable[[Sequence[Any]], list[list[Any]]]


def parse_version(version: str) -> tuple[int, int]:
    parts = version.split(".")
    return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0


def quote(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Dialect:
    modern: bool

    @classmethod
    def for_version(cls, version: str) -> Dialect:
        return cls(modern=parse_version(version) >= MODERN_SINCE)

    @property
    def name(self) -> str:
        return "modern" if self.modern else "legacy"

    # --- DDL ---------------------------------------------------------------

    def create_table(self, table: Table, database: str) -> str:
        lines = [self._column_ddl(c) for c in table.columns]
        if self.modern:
            lines.extend(table.indexes)
        body = ",\n    ".join(line for group in lines for line in group.split("\n"))
        engine = (
            f"ReplacingMergeTree({table.version_column})"
            if table.version_column
            else "MergeTree()"
        )
        parts = [
            f"CREATE TABLE IF NOT EXISTS {database}.{table.name}\n(\n    {body}\n)",
            f"ENGINE = {engine}",
        ]
        if table.partition_by:
            parts.append(f"PARTITION BY {table.partition_by}")
        parts.append(f"ORDER BY ({', '.join(self.expand(e) for e in table.order_by)})")
        if self.modern and table.ttl:
            parts.append(f"TTL {table.ttl}")
        if self.modern and table.comment:
            parts.append(f"COMMENT {quote(table.comment)}")
        return "\n".join(parts)

    def _column_ddl(self, column: Column) -> str:
        types = _MODERN_TYPES if self.modern else _LEGACY_TYPES
        base = f"{column.name} {types[column.type]}"
        if self.modern:
            if column.codec:
                base += f" CODEC({column.codec})"
            if column.comment:
                base += f" COMMENT {quote(column.comment)}"
            return base
        if column.type == "time_ms":
            return f"{base}\n{column.name}_ms UInt16"
        if column.type == "strmap":
            return f"{column.name}_keys Array(String)\n{column.name}_values Array(String)"
        return base

    def expand(self, expression: str) -> str:
        """`@x` in a sort key: `x`, or `x, x_ms` on a legacy server."""
        if not expression.startswith("@"):
            return expression
        name = expression[1:]
        return name if self.modern else f"{name}, {name}_ms"

    # --- rows ---------------------------------------------------------------

    def physical_names(self, table: Table) -> list[str]:
        names: list[str] = []
        for column in table.columns:
            if self.modern:
                names.append(column.name)
            elif column.type == "time_ms":
                names += [column.name, f"{column.name}_ms"]
            elif column.type == "strmap":
                names += [f"{column.name}_keys", f"{column.name}_values"]
            else:
                names.append(column.name)
        return names

    def physical_columns(self, table: Table, rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """The insert's columns from logical rows (tuples in `table.columns` order).

        Logical values: str, int, float, bool, time_ms as int Unix ms, strmap
        as dict[str, str], strarray as list[str].
        """
        logical = list(zip(*rows, strict=True)) if rows else [() for _ in table.columns]
        out: list[list[Any]] = []
        for column, values in zip(table.columns, logical, strict=True):
            out.extend(self._convert(column.type, values))
        return out

    def _convert(self, kind: LogicalType, values: Sequence[Any]) -> list[list[Any]]:
        if kind == "time_ms":
            if self.modern:
                return [list(values)]
            return [[v // 1000 for v in values], [v % 1000 for v in values]]
        if kind == "strmap":
            if self.modern:
                return [list(values)]
            return [[list(m) for m in values], [list(m.values()) for m in values]]
        if kind == "bool" and not self.modern:
            return [[1 if v else 0 for v in values]]
        return [list(values)]

    # --- queries ------------------------------------------------------------

    def time_ms(self, column: str) -> str:
        """SQL reading a `time_ms` column as Unix milliseconds."""
        if self.modern:
            return f"toUnixTimestamp64Milli({column})"
        return f"toUInt64(toUInt32({column})) * 1000 + {column}_ms"

    def map_keys_values(self, column: str) -> tuple[str, str]:
        """SQL reading a string map column as (keys array, values array)."""
        if self.modern:
            return f"mapKeys({column})", f"mapValues({column})"
        return f"{column}_keys", f"{column}_values"

    def map_get(self, column: str, key: str) -> str:
        """SQL reading one key of a string map column ('' when absent)."""
        if self.modern:
            return f"{column}[{quote(key)}]"
        return (
            f"if(has({column}_keys, {quote(key)}), "
            f"{column}_values[indexOf({column}_keys, {quote(key)})], '')"
        )


MODERN = Dialect(modern=True)
LEGACY = Dialect(modern=False)
