"""Properties as ClickHouse stores them: flat, dotted keys, string values.

This runs for every record, so the common case (a flat object of strings and
numbers) takes the shortest path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _scalar(value: Any) -> str | None:
    kind = type(value)
    if kind is str:
        return value or None
    if value is None:
        return None
    if kind is bool:
        return "true" if value else "false"
    if kind is float and value.is_integer():
        return str(int(value))
    return str(value)


def _walk(prefix: str, value: Any, out: dict[str, str]) -> None:
    items: Iterable[tuple[Any, Any]]
    if type(value) is dict:
        items = value.items()
    elif type(value) is list:
        items = enumerate(value)
    else:
        text = _scalar(value)
        if text is not None:
            out[prefix] = text
        return
    for key, inner in items:
        name = f"{prefix}.{key}" if prefix else str(key)
        kind = type(inner)
        if kind is str:
            if inner:
                out[name] = inner
        elif kind is dict or kind is list:
            _walk(name, inner, out)
        else:
            text = _scalar(inner)
            if text is not None:
                out[name] = text


def flatten(
    properties: Any, prefix: str = "", into: dict[str, str] | None = None
) -> dict[str, str]:
    """`{"a": {"b": 1, "c": null}, "d": ["x", ""]}` -> `{"a.b": "1", "d.0": "x"}`.

    Nested objects and arrays become dotted keys (array items by index);
    booleans become "true"/"false"; null and empty strings are dropped.
    """
    out: dict[str, str] = {} if into is None else into
    if type(properties) is dict or type(properties) is list:
        _walk(prefix, properties, out)
    return out
