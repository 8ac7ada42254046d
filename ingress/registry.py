"""Projects, clients and device-id salts, kept in one SQLite file.

The registry is read on the ingress's cold path only (a cache sits in front
of it, see `auth.py`), and written by the `trackflow project|client` commands
and by the daily salt rotation. Several ingress workers share the file;
SQLite's own locking keeps their writes apart, and every write here is one
short statement.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher

DEFAULT_SESSION_TIMEOUT_MS = 30 * 60 * 1000
DEFAULT_WINDOW_MS = 5 * 24 * 3600 * 1000
# Longest a registry call waits for another process's write lock.
LOCK_TIMEOUT_S = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    session_timeout_ms INTEGER NOT NULL,
    window_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS clients (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    secret_hash TEXT,
    origins TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);
CREATE TABLE IF NOT EXISTS salts (
    day TEXT PRIMARY KEY,
    salt TEXT NOT NULL
);
"""

_hasher = PasswordHasher()


class RegistryError(Exception):
    """A registry call that cannot be done as asked (unknown project, bad value)."""


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    session_timeout_ms: int
    window_ms: int
    created_at_ms: int


@dataclass(frozen=True)
class Client:
    id: str
    project_id: str
    name: str
    # argon2 hash of the secret, None for a browser client checked by Origin
    secret_hash: str | None
    origins: tuple[str, ...]
    created_at_ms: int
    revoked_at_ms: int | None

    @property
    def has_secret(self) -> bool:
        return self.secret_hash is not None

    @property
    def revoked(self) -> bool:
        return self.revoked_at_ms is not None


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def new_secret() -> str:
    return "sec_" + secrets.token_hex(20)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _project(row: sqlite3.Row) -> Project:
    return Project(
        id=row["id"],
        name=row["name"],
        session_timeout_ms=row["session_timeout_ms"],
        window_ms=row["window_ms"],
        created_at_ms=row["created_at_ms"],
    )


def _client(row: sqlite3.Row) -> Client:
    return Client(
        id=row["id"],
        project_id=row["project_id"],
        name=row["name"],
        secret_hash=row["secret_hash"],
        origins=tuple(json.loads(row["origins"])),
        created_at_ms=row["created_at_ms"],
        revoked_at_ms=row["revoked_at_ms"],
    )


class Registry:
    """The registry at `path`, created with its tables on first use."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One connection per call: calls are rare (cache misses, admin
        # commands) and this keeps the class safe to use from any thread.
        db = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_S)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    # --- projects ---------------------------------------------------------

    def create_project(
        self,
        name: str,
        *,
        session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS,
        window_ms: int = DEFAULT_WINDOW_MS,
    ) -> Project:
        if session_timeout_ms <= 0:
            raise RegistryError(f"session_timeout_ms must be positive, got {session_timeout_ms}")
        if window_ms <= 0:
            raise RegistryError(f"window_ms must be positive, got {window_ms}")
        project = Project(str(uuid.uuid4()), name, session_timeout_ms, window_ms, _now_ms())
        with self._connect() as db:
            db.execute(
                "INSERT INTO projects VALUES (?, ?, ?, ?, ?)",
                (project.id, name, session_timeout_ms, window_ms, project.created_at_ms),
            )
        return project

    def project(self, project_id: str) -> Project | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM projects WHERE id = ?", (project_id,)).fetchone()
        return _project(row) if row else None

    def projects(self) -> list[Project]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM projects ORDER BY created_at_ms").fetchall()
        return [_project(row) for row in rows]

    # --- clients ----------------------------------------------------------

    def create_client(
        self,
        project_id: str,
        *,
        name: str = "",
        origins: list[str] | tuple[str, ...] = (),
        with_secret: bool = True,
    ) -> tuple[Client, str | None]:
        """A new client of the project and its secret, which is stored only hashed.

        A client without secret must list the origins it is accepted from.
        """
        if self.project(project_id) is None:
            raise RegistryError(f"unknown project {project_id}")
        cleaned = tuple(origin.strip().lower() for origin in origins if origin.strip())
        if not with_secret and not cleaned:
            raise RegistryError("a client without secret needs at least one allowed origin")
        secret = new_secret() if with_secret else None
        client = Client(
            id=str(uuid.uuid4()),
            project_id=project_id,
            name=name,
            secret_hash=hash_secret(secret) if secret else None,
            origins=cleaned,
            created_at_ms=_now_ms(),
            revoked_at_ms=None,
        )
        with self._connect() as db:
            db.execute(
                "INSERT INTO clients VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (
                    client.id,
                    project_id,
                    name,
                    client.secret_hash,
                    json.dumps(list(cleaned)),
                    client.created_at_ms,
                ),
            )
        return client, secret

    def client(self, client_id: str) -> Client | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM clients WHERE id = ?", (client_id,)).fetchone()
        return _client(row) if row else None

    def clients(self, project_id: str | None = None) -> list[Client]:
        with self._connect() as db:
            if project_id is None:
                rows = db.execute("SELECT * FROM clients ORDER BY created_at_ms").fetchall()
            else:
                rows = db.execute(
                    "SELECT * FROM clients WHERE project_id = ? ORDER BY created_at_ms",
                    (project_id,),
                ).fetchall()
        return [_client(row) for row in rows]

    def revoke_client(self, client_id: str) -> bool:
        """Revoke the client; False when it does not exist or was already revoked."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE clients SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL",
                (_now_ms(), client_id),
            )
        return cursor.rowcount == 1

    # --- device-id salts --------------------------------------------------

    def salt_for_day(self, day: str) -> str:
        """The salt of a UTC day (`YYYY-MM-DD`), created on first request.

        Every worker asks for the same day's salt; the first insert wins and
        the others read it back, so they all derive the same device ids.
        """
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO salts VALUES (?, ?)", (day, secrets.token_hex(16)))
            row = db.execute("SELECT salt FROM salts WHERE day = ?", (day,)).fetchone()
        salt: str = row["salt"]
        return salt
