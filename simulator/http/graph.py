"""What WhatsApp Cloud API and Messenger share as Graph APIs: error bodies, tokens, signed webhooks and the hub handshake."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from .client import HttpClient, HttpError
from .common import JsonResponse, dumps
from .webhooks import Webhook, WebhookPoster, hub_signature

_log = logging.getLogger("carrier_sim.http.graph")


class GraphError(Exception):
    """Answered as {"error": {message, type, code, error_subcode, fbtrace_id}}."""

    def __init__(self, status: int, code: int, message: str, type_: str = "OAuthException",
                 subcode: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.type = type_
        self.subcode = subcode

    def response(self) -> Response:
        return graph_error(self.status, self.code, self.message, self.type, self.subcode)


def graph_error(status: int, code: int, message: str, type_: str = "OAuthException",
                subcode: int | None = None) -> Response:
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "A" + os.urandom(10).hex()
    return JsonResponse({"error": error}, status)


def bad_param(message: str, subcode: int | None = None) -> GraphError:
    return GraphError(400, 100, f"(#100) {message}", subcode=subcode)


def access_token(request: Request) -> str:
    """The token from `Authorization: Bearer ...` or the `access_token` query parameter."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query_params.get("access_token", "").strip()


def invalid_token() -> GraphError:
    return GraphError(401, 190, "Invalid OAuth access token - Cannot parse access token")


class HubVerifier:
    """Meta's webhook verification handshake, done (once per URL) before events are posted there.

    GET <url>?hub.mode=subscribe&hub.challenge=<n>&hub.verify_token=<token> must answer 200 with the
    challenge as its body; until it does, events for that URL fail and are retried with back-off.
    """

    def __init__(self, verify_token: str) -> None:
        self.verify_token = verify_token
        self.verified: set[str] = set()
        self.attempts = 0

    async def __call__(self, client: HttpClient, url: str) -> bool:
        if url in self.verified:
            return True
        self.attempts += 1
        challenge = str(secrets.randbelow(1 << 31))
        query = urlencode({"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": self.verify_token})
        try:
            response = await client.request("GET", f"{url}{'&' if '?' in url else '?'}{query}")
        except HttpError as error:
            _log.info("verification of %s failed: %s", url, error)
            return False
        if response.status_code == 200 and response.text.strip() == challenge:
            self.verified.add(url)
            return True
        _log.info("verification of %s refused: HTTP %s", url, response.status_code)
        return False

    def forget(self) -> None:
        self.verified.clear()


def post_signed(poster: WebhookPoster, verifier: HubVerifier, url: str, payload: Any, app_secret: str, *,
                label: str, key: Any = None, sha1: bool = False) -> None:
    """POST a JSON event signed with X-Hub-Signature-256 (and, for Messenger, the legacy SHA-1 header)."""
    body = dumps(payload)
    headers = {"content-type": "application/json", "x-hub-signature-256": hub_signature(app_secret, body),
               "user-agent": "facebookexternalua"}
    if sha1:
        headers["x-hub-signature"] = "sha1=" + hmac.new(app_secret.encode(), body, hashlib.sha1).hexdigest()

    async def handshake(client: HttpClient) -> bool:
        return await verifier(client, url)

    poster.post(Webhook(url, body, headers, "POST", label, key, None, handshake))
