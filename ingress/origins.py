"""Whether a request's Origin header is in a browser client's allowed list.

An allowed entry is one of:
  `app.example.com`          that host, any scheme and port
  `*.example.com`            any subdomain of example.com (not example.com itself)
  `https://app.example.com`  that scheme and host (and port, if written)
  `*`                        any origin
"""

from __future__ import annotations

from urllib.parse import urlsplit


def _split(origin: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port


def _host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        suffix = pattern[1:]
        return host.endswith(suffix) and len(host) > len(suffix)
    return host == pattern


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    if not origin:
        return False
    split = _split(origin)
    if split is None:
        return False
    scheme, host, port = split
    for entry in allowed:
        if entry == "*":
            return True
        if "://" in entry:
            wanted = _split(entry.replace("*.", "wildcard-marker.", 1))
            if wanted is None or wanted[0] != scheme:
                continue
            if wanted[2] is not None and wanted[2] != port:
                continue
            pattern = wanted[1].replace("wildcard-marker.", "*.", 1)
        else:
            pattern = entry
        if _host_matches(pattern, host):
            return True
    return False
