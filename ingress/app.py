"""The ingress's HTTP routes.

Contract of both event routes: a 2xx means every accepted event of the
request is acknowledged by Kafka (acks=all). Before that: 401 when the
caller is not who it says, 400/413 when the envelope is wrong, 503 with
Retry-After when Kafka does not acknowledge in `produce_timeout_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from starlette.middleware.cors import CORSMiddleware

from ingress import metrics, openapi
from ingress.auth import Authenticator, AuthError, Caller
from ingress.body import BodyError, read_body
from ingress.config import IngressSettings
from ingress.deviceid import DeviceIds, now_ms
from ingress.events import Accepted, RequestContext, build
from ingress.producer import AsyncProducer, ProduceTimeout, producer_config
from ingress.registry import Registry
from ingress.throttle import Throttled
from ingress.validation import Invalid
from trackflow.topics import Topics

log = logging.getLogger(__name__)

# How long /readyz waits for a broker's metadata answer.
READY_TIMEOUT_S = 2.0
# How long shutdown waits for records still queued in the producer.
SHUTDOWN_FLUSH_S = 10.0
# How often the device-id salts are read ahead from the registry.
SALT_REFRESH_S = 60.0


# Bad payloads and Kafka trouble come in floods; one line per 10 s says enough.
_bad_payloads = Throttled(log, 10.0)
_kafka_trouble = Throttled(log, 10.0)


class Problem(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


@dataclass
class Ingress:
    settings: IngressSettings
    topic: str
    producer: AsyncProducer
    authenticator: Authenticator
    device_ids: DeviceIds


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _problem_response(problem: Problem) -> Response:
    body = {
        "status": problem.status,
        "error": HTTPStatus(problem.status).phrase,
        "message": str(problem),
    }
    return _json(problem.status, body, problem.headers)


def _client_ip(request: Request, headers_in_order: tuple[str, ...]) -> str:
    for name in headers_in_order:
        value = request.headers.get(name)
        if value:
            first = value.split(",", 1)[0].strip()
            if first:
                return first
    return request.client.host if request.client else ""


async def _read_json(request: Request, settings: IngressSettings) -> Any:
    try:
        raw = await read_body(
            request.stream(),
            request.headers.get("content-encoding"),
            request.headers.get("content-length"),
            settings.max_body_bytes,
        )
    except BodyError as exc:
        raise Problem(exc.status, str(exc)) from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, f"Body is not valid JSON: {exc}") from None


async def _authenticate(ingress: Ingress, request: Request, body: Any) -> Caller:
    headers = request.headers
    client_id = headers.get("openpanel-client-id")
    secret = headers.get("openpanel-client-secret")
    if client_id is None and isinstance(body, dict):
        client_id = body.get("clientId") if isinstance(body.get("clientId"), str) else None
        if secret is None and isinstance(body.get("clientSecret"), str):
            secret = body["clientSecret"]
    try:
        return await ingress.authenticator.authenticate(client_id, secret, headers.get("origin"))
    except AuthError as exc:
        raise Problem(401, str(exc)) from None


async def _caller_and_body(ingress: Ingress, request: Request) -> tuple[Caller, Any]:
    """Authenticates from the headers before reading the body when it can."""
    caller = None
    if request.headers.get("openpanel-client-id") is not None:
        caller = await _authenticate(ingress, request, None)
    body = await _read_json(request, ingress.settings)
    if caller is None:
        caller = await _authenticate(ingress, request, body)
    return caller, body


def _context(ingress: Ingress, request: Request, caller: Caller) -> RequestContext:
    headers = request.headers
    return RequestContext(
        project=caller.project,
        received_at_ms=int(time.time() * 1000),
        ip=_client_ip(request, ingress.settings.ip_headers),
        user_agent=headers.get("user-agent"),
        origin=headers.get("origin"),
        sdk_name=headers.get("openpanel-sdk-name"),
        sdk_version=headers.get("openpanel-sdk-version"),
        future_tolerance_ms=ingress.settings.future_tolerance_ms,
    )


async def _produce(ingress: Ingress, accepted: list[Accepted]) -> list[str | None]:
    started = time.monotonic()
    try:
        errors = await ingress.producer.send(
            ingress.topic, [(item.key, item.value) for item in accepted]
        )
    except ProduceTimeout as exc:
        _kafka_trouble.warning("answering 503 topic=%s: %s", ingress.topic, exc)
        metrics.EVENTS.labels("rejected", "internal").inc(len(accepted))
        retry = str(ingress.settings.retry_after_s)
        raise Problem(503, f"{exc}; retry later", {"Retry-After": retry}) from None
    metrics.PRODUCE_LATENCY.observe(time.monotonic() - started)
    failed = [error for error in errors if error]
    if failed:
        _kafka_trouble.warning(
            "kafka refused records topic=%s count=%d first_error=%s",
            ingress.topic,
            len(failed),
            failed[0],
        )
    return errors


def _all_failed(errors: list[str | None], retry_after_s: int) -> Problem:
    first = next(error for error in errors if error)
    return Problem(503, f"Kafka refused the events: {first}", {"Retry-After": str(retry_after_s)})


async def track(ingress: Ingress, request: Request) -> Response:
    caller, body = await _caller_and_body(ingress, request)
    ctx = _context(ingress, request, caller)
    try:
        accepted = build(body, ctx, ingress.device_ids)
    except Invalid as exc:
        metrics.EVENTS.labels("rejected", "validation").inc()
        _bad_payloads.warning("rejected event project=%s error=%s", caller.project.id, exc)
        raise Problem(400, str(exc)) from None
    errors = await _produce(ingress, [accepted])
    if errors[0]:
        metrics.EVENTS.labels("rejected", "internal").inc()
        raise _all_failed(errors, ingress.settings.retry_after_s)
    metrics.EVENTS.labels("accepted", "").inc()
    return _json(200, {"deviceId": accepted.device_id, "sessionId": accepted.session_id})


def _events(body: Any, limit: int) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise Problem(400, 'Body must be an object with an "events" array')
    events: list[Any] = body["events"]
    if not 1 <= len(events) <= limit:
        raise Problem(400, f"events must hold 1 to {limit} events, got {len(events)}")
    return events


async def track_batch(ingress: Ingress, request: Request) -> Response:
    caller, body = await _caller_and_body(ingress, request)
    events = _events(body, ingress.settings.max_batch_events)
    metrics.BATCH_SIZE.observe(len(events))
    ctx = _context(ingress, request, caller)

    accepted: list[Accepted] = []
    indices: list[int] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(events):
        try:
            accepted.append(build(item, ctx, ingress.device_ids))
            indices.append(index)
        except Invalid as exc:
            rejected.append({"index": index, "reason": "validation", "error": str(exc)})
    if rejected:
        metrics.EVENTS.labels("rejected", "validation").inc(len(rejected))
        _bad_payloads.warning(
            "rejected batch events project=%s count=%d first_error=%s",
            caller.project.id,
            len(rejected),
            rejected[0]["error"],
        )

    errors = await _produce(ingress, accepted) if accepted else []
    if errors and all(errors):
        metrics.EVENTS.labels("rejected", "internal").inc(len(errors))
        raise _all_failed(errors, ingress.settings.retry_after_s)
    return _json(202, _batch_answer(request, accepted, indices, rejected, errors))


def _batch_answer(
    request: Request,
    accepted: list[Accepted],
    indices: list[int],
    rejected: list[dict[str, Any]],
    errors: list[str | None],
) -> dict[str, Any]:
    ids = []
    failed = 0
    for item, index, error in zip(accepted, indices, errors, strict=True):
        if error:
            failed += 1
            rejected.append({"index": index, "reason": "internal", "error": f"kafka: {error}"})
        else:
            ids.append({"index": index, "deviceId": item.device_id, "sessionId": item.session_id})
    if failed:
        metrics.EVENTS.labels("rejected", "internal").inc(failed)
        rejected.sort(key=lambda entry: int(entry["index"]))
    metrics.EVENTS.labels("accepted", "").inc(len(ids))
    answer: dict[str, Any] = {"accepted": len(ids), "rejected": rejected}
    if request.query_params.get("ids", "").lower() in ("true", "1"):
        answer["ids"] = ids
    return answer


async def _answer(route: str, handler: Any, ingress: Ingress, request: Request) -> Response:
    try:
        response: Response = await handler(ingress, request)
    except Problem as problem:
        response = _problem_response(problem)
    metrics.REQUESTS.labels(route, str(response.status_code)).inc()
    return response


def _ingress_from(settings: IngressSettings) -> Ingress:
    shared = settings.shared
    registry = Registry(shared.registry_path)
    config = producer_config(
        shared.kafka_bootstrap,
        linger_ms=settings.linger_ms,
        compression=settings.compression,
        delivery_timeout_s=settings.delivery_timeout_s,
        extra=settings.extra_producer_config,
    )
    return Ingress(
        settings=settings,
        topic=Topics(shared.topic_prefix).raw_events,
        producer=AsyncProducer(config, settings.produce_timeout_s),
        authenticator=Authenticator(registry, settings.auth_cache_ttl_s),
        device_ids=DeviceIds(registry),
    )


async def _keep_salts(device_ids: DeviceIds) -> None:
    """Reads the salts off the event loop every minute, tomorrow's included."""
    while True:
        await asyncio.sleep(SALT_REFRESH_S)
        try:
            await asyncio.to_thread(device_ids.prefetch, now_ms())
        except sqlite3.Error as exc:
            log.warning("could not read device-id salts from the registry: %s", exc)


def create_app(settings: IngressSettings | None = None) -> FastAPI:
    settings = settings or IngressSettings()
    holder: dict[str, Ingress] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ingress = _ingress_from(settings)
        await asyncio.to_thread(ingress.device_ids.prefetch, now_ms())
        ingress.producer.start()
        holder["ingress"] = ingress
        salts = asyncio.create_task(_keep_salts(ingress.device_ids))
        log.info(
            "ingress started kafka=%s topic=%s registry=%s produce_timeout_s=%g linger_ms=%g "
            "compression=%s ip_headers=%s",
            settings.shared.kafka_bootstrap,
            ingress.topic,
            settings.shared.registry_path,
            settings.produce_timeout_s,
            settings.linger_ms,
            settings.compression,
            ",".join(settings.ip_headers),
        )
        yield
        salts.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await salts
        await asyncio.to_thread(ingress.producer.stop, SHUTDOWN_FLUSH_S)
        log.info("ingress stopped")

    app = FastAPI(title="trackflow ingress", version="1", lifespan=lifespan)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
        max_age=86400,
    )

    @app.post("/track", openapi_extra=openapi.TRACK, response_class=Response)
    async def post_track(request: Request) -> Response:
        return await _answer("/track", track, holder["ingress"], request)

    @app.post("/track/batch", openapi_extra=openapi.BATCH, response_class=Response)
    async def post_track_batch(request: Request) -> Response:
        return await _answer("/track/batch", track_batch, holder["ingress"], request)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {"description": "Kafka does not answer"}})
    async def readyz() -> Response:
        ready = await asyncio.to_thread(holder["ingress"].producer.ready, READY_TIMEOUT_S)
        if ready:
            return _json(200, {"status": "ready"})
        return _json(503, {"status": "unavailable", "message": "Kafka does not answer"})

    @app.get("/metrics", response_class=Response)
    async def get_metrics() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    return app
