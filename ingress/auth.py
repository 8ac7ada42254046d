"""Who is sending: a client id with its secret, or a browser client by Origin.

Contract: `authenticate` returns the client's project, or raises
`AuthError` whose message names what was wrong (never which secrets exist).
A secret is checked with argon2 once; the verified pair is then kept for
`ttl_s`, so a hot client costs one SHA-256 and a dict lookup per request.
Registry rows are kept as long, which bounds how late a revocation bites.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ingress.origins import origin_allowed
from ingress.registry import Client, Project, Registry

log = logging.getLogger(__name__)

_hasher = PasswordHasher()
# Bounds the memory of the cache of verified secrets against clients that
# rotate through many secrets.
MAX_VERIFIED_ENTRIES = 10_000
# How long an unknown client id is answered from the cache.
UNKNOWN_TTL_S = 2.0


class AuthError(Exception):
    """Answered 401 with this message."""


@dataclass(frozen=True)
class Caller:
    client: Client
    project: Project


class Authenticator:
    def __init__(self, registry: Registry, ttl_s: float) -> None:
        self._registry = registry
        self._ttl_s = ttl_s
        self._rows: dict[str, tuple[float, Caller | None]] = {}
        self._verified: dict[str, tuple[float, bytes]] = {}

    async def authenticate(
        self, client_id: str | None, secret: str | None, origin: str | None
    ) -> Caller:
        if not client_id:
            raise AuthError("Missing client id (header openpanel-client-id)")
        try:
            uuid.UUID(client_id)
        except ValueError:
            raise AuthError("Malformed client id: expected a UUID") from None
        caller = await self._caller(client_id)
        if caller is None:
            raise AuthError("Unknown client id")
        if caller.client.has_secret:
            await self._check_secret(caller.client, secret)
        elif not origin_allowed(origin, caller.client.origins):
            raise AuthError("Origin not allowed for this client")
        return caller

    async def _caller(self, client_id: str) -> Caller | None:
        now = time.monotonic()
        cached = self._rows.get(client_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        caller = await asyncio.to_thread(self._load, client_id)
        if len(self._rows) > MAX_VERIFIED_ENTRIES:
            self._rows.clear()
        # an unknown id is remembered briefly only, so a new client works soon
        ttl_s = self._ttl_s if caller is not None else min(self._ttl_s, UNKNOWN_TTL_S)
        self._rows[client_id] = (now + ttl_s, caller)
        return caller

    def _load(self, client_id: str) -> Caller | None:
        client = self._registry.client(client_id)
        if client is None or client.revoked:
            return None
        project = self._registry.project(client.project_id)
        return Caller(client, project) if project else None

    async def _check_secret(self, client: Client, secret: str | None) -> None:
        if not secret:
            raise AuthError("Missing client secret (header openpanel-client-secret)")
        digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()
        now = time.monotonic()
        cached = self._verified.get(client.id)
        if cached is not None and cached[0] > now and hmac.compare_digest(cached[1], digest):
            return
        assert client.secret_hash is not None
        # argon2 takes tens of ms on purpose: keep it off the event loop.
        if not await asyncio.to_thread(_verify, client.secret_hash, secret):
            raise AuthError("Wrong client secret")
        if len(self._verified) > MAX_VERIFIED_ENTRIES:
            self._verified.clear()
        self._verified[client.id] = (now + self._ttl_s, digest)


def _verify(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError, UnicodeError):
        return False
