from __future__ import annotations

import pytest

from ingress.origins import origin_allowed

ALLOWED = (
    "shop.example.com",
    "*.example.org",
    "https://secure.example.net",
    "http://dev.test:3000",
)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://shop.example.com", True),
        ("http://shop.example.com:8080", True),
        ("https://SHOP.example.com", True),
        ("https://evil-shop.example.com", False),
        ("https://shop.example.com.evil.com", False),
        ("https://a.example.org", True),
        ("https://a.b.example.org", True),
        ("https://example.org", False),
        ("https://badexample.org", False),
        ("https://secure.example.net", True),
        ("http://secure.example.net", False),
        ("http://dev.test:3000", True),
        ("http://dev.test:3001", False),
        ("null", False),
        ("", False),
        (None, False),
        ("https://[::1", False),
    ],
)
def test_origin_allowed(origin: str | None, allowed: bool) -> None:
    assert origin_allowed(origin, ALLOWED) is allowed


def test_star_allows_any_origin() -> None:
    assert origin_allowed("https://anything.io", ("*",))
