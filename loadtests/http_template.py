"""A templated HTTP send request for any gateway: URL and body templates, auth, success rule, id extraction."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

PLACEHOLDERS = ("to", "text", "ref", "from", "dlr_url", "encoding")
_FIELD = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str  # a path (joined to the user's host) or a full URL
    body: bytes | None
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a gateway answered: accepted (with its message id), to be retried, or refused."""

    outcome: str  # accepted, retry or refused
    message_id: str | None = None
    reason: str = ""


def _fill(template: str, values: dict[str, str], escape) -> str:
    return _FIELD.sub(lambda match: escape(values[match.group(1)]), template)


def auth_header(spec: str) -> dict[str, str]:
    """`basic:USER:PASS`, `bearer:TOKEN`, `app:KEY` (Infobip) or `header:NAME:VALUE` -> headers."""
    if not spec:
        return {}
    kind, _, rest = spec.partition(":")
    kind = kind.lower()
    if kind == "basic":
        return {"Authorization": "Basic " + base64.b64encode(rest.encode()).decode("ascii")}
    if kind == "bearer":
        return {"Authorization": f"Bearer {rest}"}
    if kind == "app":
        return {"Authorization": f"App {rest}"}
    if kind == "header":
        name, _, value = rest.partition(":")
        if name:
            return {name: value}
    raise ValueError(f"auth {spec!r}: write basic:USER:PASS, bearer:TOKEN, app:KEY or header:NAME:VALUE")


def _status_set(rule: str) -> set[int]:
    codes: set[int] = set()
    for item in filter(None, (part.strip().lower() for part in rule.split(","))):
        if re.fullmatch(r"[1-5]xx", item):
            base = int(item[0]) * 100
            codes.update(range(base, base + 100))
        elif "-" in item:
            low, high = item.split("-")
            codes.update(range(int(low), int(high) + 1))
        else:
            codes.add(int(item))
    return codes


def dig(data: object, path: str) -> object:
    """`messages.0.messageId` into parsed JSON; None where the path leads nowhere."""
    for key in filter(None, path.split(".")):
        if isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        elif isinstance(data, dict) and key in data:
            data = data[key]
        else:
            return None
    return data


@dataclass(frozen=True)
class GatewayTemplate:
    """Everything the generic gateway user needs to know about the gateway's send API."""

    url: str
    method: str = "POST"
    body: str = ""
    content_type: str = "application/json"
    auth: str = ""
    success: str = "2xx"  # status codes (2xx, 200,202, 200-204), optionally `;regex` the body must match
    message_id: str = ""  # json:path.to.id or regex:PATTERN (group 1 if any)
    retry_statuses: tuple[int, ...] = (429, 503)

    def __post_init__(self) -> None:
        if not self.url:
            raise ValueError("the generic gateway user needs a URL template (--http-url)")
        auth_header(self.auth)  # fail early on a bad spec
        if self.message_id and not self.message_id.startswith(("json:", "regex:")):
            raise ValueError(f"message id rule {self.message_id!r}: write json:PATH or regex:PATTERN")

    def render(self, values: dict[str, str]) -> HttpRequest:
        url = _fill(self.url, values, lambda value: quote(value, safe=""))
        body = None
        headers = auth_header(self.auth)
        if self.body:
            if "json" in self.content_type:
                escape = lambda value: json.dumps(value)[1:-1]  # noqa: E731 -- inside a JSON string
            elif "form" in self.content_type:
                escape = quote_plus
            else:
                escape = str
            body = _fill(self.body, values, escape).encode("utf-8")
            headers["Content-Type"] = self.content_type
        return HttpRequest(self.method.upper(), url, body, headers)

    def judge(self, status: int, text: str) -> Verdict:
        codes, _, pattern = self.success.partition(";")
        if status in self.retry_statuses:
            return Verdict("retry", reason=f"HTTP {status}")
        if status not in _status_set(codes) or (pattern and not re.search(pattern, text)):
            return Verdict("refused", reason=f"HTTP {status}: {text[:120]}")
        return Verdict("accepted", self.extract_id(text))

    def extract_id(self, text: str) -> str | None:
        rule = self.message_id
        if rule.startswith("json:"):
            try:
                value = dig(json.loads(text), rule[5:])
            except ValueError:
                return None
            return str(value) if value not in (None, "") else None
        if rule.startswith("regex:"):
            match = re.search(rule[6:], text)
            if match:
                return match.group(1) if match.groups() else match.group(0)
        return None
