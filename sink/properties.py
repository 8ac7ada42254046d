"""Properties as ClickHouse stores them: flat, dotted keys, string values."""

from __future__ import annotations

from typing import Any


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value or None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _walk(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _walk(f"{prefix}.{key}" if prefix else str(key), inner, out)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _walk(f"{prefix}.{index}" if prefix else str(index), inner, out)
    else:
        text = _text(value)
        if text is not None and prefix:
            out[prefix] = text


def flatten(
    properties: Any, prefix: str = "", into: dict[str, str] | None = None
) -> dict[str, str]:
    """`{"a": {"b": 1, "c": null}, "d": ["x", ""]}` -> `{"a.b": "1", "d.0": "x"}`.

    Nested objects and arrays become dotted keys (array items by index);
    booleans become "true"/"false"; null and empty strings are dropped.
    """
    out: dict[str, str] = {} if into is None else into
    if isinstance(properties, dict | list):
        _walk(prefix, properties, out)
    return out
