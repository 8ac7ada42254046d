"""User-agent fields of a row: parsed with ua-parser, overridden by the client.

The same few user agents repeat in almost every record, so parses are cached.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from ua_parser import parse

# Operating systems whose devices are phones unless they say they are tablets.
_MOBILE_OS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Tizen"})
_TABLET_HINTS = ("iPad", "Tablet", "Kindle", "Nexus 7", "Nexus 9", "SM-T")


class UserAgentFields(NamedTuple):
    os: str
    os_version: str
    browser: str
    browser_version: str
    device: str
    brand: str
    model: str


EMPTY = UserAgentFields("", "", "", "", "", "", "")
OVERRIDE_KEYS = UserAgentFields._fields


def _version(*parts: str | None) -> str:
    out: list[str] = []
    for part in parts:
        if not part:
            break
        out.append(part)
    return ".".join(out)


def _family(value: str | None) -> str:
    return "" if value in (None, "Other") else str(value)


def _device_type(user_agent: str, os_family: str, device_family: str) -> str:
    if device_family == "Spider":
        return "bot"
    if any(hint in user_agent or hint in device_family for hint in _TABLET_HINTS):
        return "tablet"
    if os_family == "Android" and "Mobile" not in user_agent:
        return "tablet"
    if os_family in _MOBILE_OS or "Mobile" in user_agent:
        return "mobile"
    return "desktop"


@lru_cache(maxsize=20_000)
def parse_user_agent(user_agent: str) -> UserAgentFields:
    if not user_agent:
        return EMPTY
    result = parse(user_agent)
    browser = result.user_agent
    os = result.os
    device = result.device
    os_family = _family(os.family if os else None)
    device_family = device.family if device else "Other"
    return UserAgentFields(
        os=os_family,
        os_version=_version(os.major, os.minor, os.patch) if os else "",
        browser=_family(browser.family if browser else None),
        browser_version=_version(browser.major, browser.minor, browser.patch) if browser else "",
        device=_device_type(user_agent, os_family, device_family),
        brand=(device.brand or "") if device else "",
        model=(device.model or "") if device else "",
    )


def user_agent_fields(user_agent: str | None, overrides: object) -> UserAgentFields:
    """The parsed fields of `user_agent`, with every non-empty override winning."""
    fields = parse_user_agent(user_agent or "")
    if not isinstance(overrides, dict) or not overrides:
        return fields
    values = fields._asdict()
    for key in OVERRIDE_KEYS:
        value = overrides.get(key)
        if isinstance(value, str) and value:
            values[key] = value
    return UserAgentFields(**values)
