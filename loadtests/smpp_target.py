"""Where and as whom an SmppUser binds: `smpp://[system_id[:password]@]host:port`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True, slots=True)
class SmppTarget:
    """Where and as whom to bind: `smpp://[system_id[:password]@]host:port`."""

    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""


def parse_target(url: str, *, system_id: str, password: str, system_type: str = "") -> SmppTarget:
    parts = urlsplit(url if "://" in url else f"smpp://{url}")
    if parts.scheme not in ("smpp", ""):
        raise ValueError(f"{url!r} is not an smpp://host:port target")
    if not parts.hostname:
        raise ValueError(f"{url!r} names no host")
    return SmppTarget(parts.hostname, parts.port or 2775, unquote(parts.username) if parts.username else system_id,
                      unquote(parts.password) if parts.password else password, system_type)
