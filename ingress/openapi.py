"""The request bodies of both routes, written out for the OpenAPI schema.

The routes read their bodies themselves (gzip, size limits, per-item
rejection), so FastAPI cannot infer these; fuzzers and SDK authors read them
from /openapi.json.
"""

from __future__ import annotations

from typing import Any

_PROFILE_ID = {"oneOf": [{"type": "string", "minLength": 1}, {"type": "number"}]}
_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}


def _item(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "payload"],
        "properties": {"type": {"const": kind}, "payload": payload},
    }


def _obj(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


TRACK_ITEM: dict[str, Any] = {
    "oneOf": [
        _item(
            "track",
            _obj(
                ["name"],
                {
                    "name": {"type": "string", "minLength": 1, "maxLength": 80},
                    "properties": {"type": "object"},
                    "profileId": _PROFILE_ID,
                    "groups": _STRINGS,
                },
            ),
        ),
        _item(
            "identify",
            _obj(
                ["profileId"],
                {
                    "profileId": _PROFILE_ID,
                    "firstName": {"type": "string"},
                    "lastName": {"type": "string"},
                    "email": {"type": "string", "format": "email"},
                    "avatar": {"type": "string", "format": "uri"},
                    "properties": {"type": "object"},
                },
            ),
        ),
        *(
            _item(
                kind,
                _obj(
                    ["profileId", "property"],
                    {
                        "profileId": _PROFILE_ID,
                        "property": {"type": "string", "minLength": 1},
                        "value": {"type": "number", "exclusiveMinimum": 0},
                    },
                ),
            )
            for kind in ("increment", "decrement")
        ),
        _item(
            "group",
            _obj(
                ["id", "type", "name"],
                {
                    "id": {"type": "string", "minLength": 1},
                    "type": {"type": "string", "minLength": 1},
                    "name": {"type": "string", "minLength": 1},
                    "properties": {"type": "object"},
                },
            ),
        ),
        _item(
            "assign_group", _obj(["groupIds"], {"groupIds": _STRINGS, "profileId": _PROFILE_ID})
        ),
        _item(
            "replay",
            _obj(
                [
                    "chunk_index",
                    "events_count",
                    "is_full_snapshot",
                    "started_at",
                    "ended_at",
                    "payload",
                ],
                {
                    "chunk_index": {"type": "integer", "minimum": 0, "maximum": 65535},
                    "events_count": {"type": "integer", "minimum": 1},
                    "is_full_snapshot": {"type": "boolean"},
                    "started_at": {"type": "string", "format": "date-time"},
                    "ended_at": {"type": "string", "format": "date-time"},
                    "payload": {"type": "string", "maxLength": 2097152},
                    "sessionId": {"type": "string"},
                },
            ),
        ),
    ]
}

_JSON = "application/json"


def _error(description: str) -> dict[str, Any]:
    schema = _obj(
        ["status", "error", "message"],
        {
            "status": {"type": "integer"},
            "error": {"type": "string"},
            "message": {"type": "string"},
        },
    )
    return {"description": description, "content": {_JSON: {"schema": schema}}}


_ERRORS = {
    "400": _error("Malformed body, or (on /track) an invalid event"),
    "401": _error("Missing, malformed or unknown client id, wrong secret or origin"),
    "413": _error("Body larger than 10 MB once decompressed"),
    "503": _error("Kafka did not acknowledge in time; retry after Retry-After seconds"),
}

TRACK: dict[str, Any] = {
    "requestBody": {"required": True, "content": {_JSON: {"schema": TRACK_ITEM}}},
    "responses": {
        "200": {
            "description": "Stored in Kafka",
            "content": {
                _JSON: {
                    "schema": _obj(
                        ["deviceId", "sessionId"],
                        {"deviceId": {"type": "string"}, "sessionId": {"type": "string"}},
                    )
                }
            },
        },
        **_ERRORS,
    },
}

BATCH: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            _JSON: {
                "schema": _obj(
                    ["events"],
                    {
                        "events": {
                            "type": "array",
                            "items": TRACK_ITEM,
                            "minItems": 1,
                            "maxItems": 2000,
                        }
                    },
                )
            }
        },
    },
    "responses": {
        "202": {
            "description": "Every accepted event is in Kafka; the others are listed",
            "content": {
                _JSON: {
                    "schema": _obj(
                        ["accepted", "rejected"],
                        {
                            "accepted": {"type": "integer"},
                            "rejected": {
                                "type": "array",
                                "items": _obj(
                                    ["index", "reason", "error"],
                                    {
                                        "index": {"type": "integer"},
                                        "reason": {"enum": ["validation", "internal"]},
                                        "error": {"type": "string"},
                                    },
                                ),
                            },
                            "ids": {"type": "array"},
                        },
                    )
                }
            },
        },
        **_ERRORS,
    },
}
