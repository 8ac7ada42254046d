"""Numbered, idempotent migrations of trackflow's ClickHouse database.

Each migration is a list of statements rendered for the server's dialect;
every statement may run again without harm (IF NOT EXISTS), so a migration
interrupted half-way is simply run again. Applied migrations are recorded in
`<database>.schema_migrations`; `migrate` runs those not recorded yet, in order.
Two processes migrating at once both run the idempotent statements and both
record the number, which the ReplacingMergeTree collapses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from schemas.clickhouse.render import Dialect
from schemas.clickhouse.tables import TABLES

log = logging.getLogger(__name__)

MIGRATIONS_TABLE = "schema_migrations"


class SqlRunner(Protocol):
    """Runs one SQL statement and returns its rows (clickhouse-driver, chDB)."""

    def execute(self, query: str) -> list[tuple[Any, ...]]: ...


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    statements: Callable[[Dialect, str], Sequence[str]]


def _create_tables(dialect: Dialect, database: str) -> list[str]:
    return [dialect.create_table(table, database) for table in TABLES]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1, "create events, sessions, profiles, groups, session_replay_chunks", _create_tables
    ),
)


def applied(runner: SqlRunner, database: str) -> set[int]:
    rows = runner.execute(f"SELECT DISTINCT number FROM {database}.{MIGRATIONS_TABLE}")
    return {int(row[0]) for row in rows}


def migrate(
    runner: SqlRunner,
    database: str,
    dialect: Dialect,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> list[int]:
    """Creates the database if missing and runs every migration not yet applied.

    Returns the numbers it ran. Raises what the server raised; what ran before
    stays applied and recorded.
    """
    runner.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    runner.execute(
        f"CREATE TABLE IF NOT EXISTS {database}.{MIGRATIONS_TABLE} "
        "(number UInt32, name String, applied_at DateTime) "
        "ENGINE = ReplacingMergeTree() ORDER BY number"
    )
    done = applied(runner, database)
    ran: list[int] = []
    for migration in sorted(migrations, key=lambda m: m.number):
        if migration.number in done:
            continue
        log.info(
            "running migration number=%d name=%r database=%s dialect=%s",
            migration.number,
            migration.name,
            database,
            dialect.name,
        )
        for statement in migration.statements(dialect, database):
            runner.execute(statement)
        name = migration.name.replace("\\", "\\\\").replace("'", "\\'")
        runner.execute(
            f"INSERT INTO {database}.{MIGRATIONS_TABLE} (number, name, applied_at) "
            f"SELECT {migration.number}, '{name}', now()"
        )
        ran.append(migration.number)
    log.info("database %s is at migration %d", database, max(done | set(ran), default=0))
    return ran
