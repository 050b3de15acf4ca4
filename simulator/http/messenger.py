"""Facebook Messenger Send API (POST /{version}/me/messages) with delivery, read and message webhooks, over the carrier core."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from simulator.config import MessengerConfig, MessengerPageConfig
from simulator.core.records import Inbound, Item, Receipt
from simulator.smpp import text as sms_text
from simulator.smpp.status import Status

from .common import (
    BodyTooLarge, FrontEnd, JsonResponse, encode_text, first_part, guarded, parse_json, read_body, register_account,
    submit_text, system_id_for,
)
from .graph import GraphError, HubVerifier, access_token, bad_param, graph_error, invalid_token, post_signed
from .webhooks import MailboxEndpoint

__all__ = ["MessengerApi"]

_log = logging.getLogger("carrier_sim.http.messenger")

MAX_TEXT = 2000
OPEN_PAGE_ID = "100000000000000"  # the page every token stands for when no pages are configured
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")


@dataclass(slots=True, eq=False)
class MessengerPage:
    id: str
    token: str  # "" : any token
    webhook_url: str
    system_id: str


@dataclass(slots=True, eq=False)
class MessengerMessage:
    page: MessengerPage
    mid: str
    psid: str
    delivered: bool = False


class MessengerApi:
    def __init__(self, front: FrontEnd, config: MessengerConfig) -> None:
        self.front = front
        self.carrier = front.carrier
        self.poster = front.poster
        self.config = config
        self.clock = self.carrier.clock
        self.verifier = HubVerifier(config.verify_token)
        self.pages: dict[str, MessengerPage] = {}
        for page in config.pages:
            self._add(page, own=True)
        if not config.pages:
            # The open-mode page claims no number: with nothing owned the carrier skips its owner lookup on
            # every delivery, and a user's reply still comes back (to whoever last sent to that user).
            self._add(MessengerPageConfig(id=OPEN_PAGE_ID), own=False)

    def _add(self, cfg: MessengerPageConfig, *, own: bool) -> MessengerPage:
        page = MessengerPage(cfg.id, cfg.access_token, cfg.webhook_url, system_id_for("fb", cfg.id))
        self.pages[page.id] = page
        register_account(self.carrier, page.system_id, [page.id] if own else [])
        self.carrier.outbox.attach(MailboxEndpoint(self.carrier.outbox, self.carrier.scheduler, page.system_id,
                                                   lambda item, p=page: self._on_item(p, item), self.poster))
        return page

    def owns_page(self, node: str) -> bool:
        return node in self.pages

    def _page(self, node: str, token: str) -> MessengerPage:
        if not token:
            raise invalid_token()
        if node == "me":
            for page in self.pages.values():
                if page.token == token:
                    return page
            for page in self.pages.values():
                if not page.token:
                    return page
            raise invalid_token()
        page = self.pages.get(node)
        if page is None:
            raise GraphError(400, 100, f"Unsupported post request. Object with ID '{node}' does not exist, cannot be "
                                       f"loaded due to missing permissions, or does not support this operation.",
                             "GraphMethodException", 33)
        if page.token and page.token != token:
            raise invalid_token()
        return page

    # ------------------------------------------------------------------ app

    def app(self) -> ASGIApp:
        routes = [Route("/{version}/{node}/messages", self.send, methods=["POST"])]

        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            return graph_error(400, 100, f"Unknown path components: {request.url.path}")

        app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
        return guarded(app, lambda error: graph_error(500, 1, "An unknown error occurred"), "messenger")

    async def send(self, request: Request) -> Response:
        try:
            page = self._page(request.path_params["node"], access_token(request))
            try:
                data = parse_json(await read_body(request))
            except ValueError:
                raise bad_param("The request body is not valid JSON.") from None
            if not isinstance(data, dict):
                raise bad_param("The request body must be a JSON object.")
            return JsonResponse(self._send(page, data))
        except GraphError as error:
            return error.response()
        except BodyTooLarge:
            return graph_error(413, 100, "(#100) Request body too large")

    def _send(self, page: MessengerPage, data: dict[str, Any]) -> dict[str, Any]:
        recipient = data.get("recipient")
        psid = recipient.get("id") if isinstance(recipient, dict) else None
        if isinstance(psid, int) and not isinstance(psid, bool):
            psid = str(psid)
        if not isinstance(psid, str) or not psid:
            raise bad_param("The parameter recipient is required")
        if not psid.isdigit() or len(psid) > 20:
            raise GraphError(400, 100, "(#100) No matching user found", subcode=2018001)
        action = data.get("sender_action")
        if action is not None:
            if action not in SENDER_ACTIONS:
                raise bad_param(f"Param sender_action must be one of {{{', '.join(SENDER_ACTIONS)}}}")
            return {"recipient_id": psid}
        if data.get("messaging_type") not in MESSAGING_TYPES:
            raise bad_param(f"Param messaging_type must be one of {{{', '.join(MESSAGING_TYPES)}}}")
        text = _content(data.get("message"))
        try:
            encoded = encode_text(text)
        except sms_text.TextEncodingError:
            raise bad_param(f"Length of param message[text] must be less than or equal to {MAX_TEXT}") from None
        record = MessengerMessage(page, "", psid)
        result = submit_text(self.carrier, page.system_id, "http", page.id, psid, encoded, ref=record)
        if result.status in (Status.ESME_RTHROTTLED, Status.ESME_RMSGQFUL):
            raise GraphError(400, 613, "(#613) Calls to this api have exceeded the rate limit.")
        if not result.ok:
            raise GraphError(400, 551, "(#551) This person isn't available right now.", subcode=1545041)
        record.mid = "m_" + base64.urlsafe_b64encode(f"{page.id}:{result.message_id}".encode()).decode().rstrip("=")
        return {"recipient_id": psid, "message_id": record.mid}

    # ------------------------------------------------------------------ webhooks

    def _post(self, page: MessengerPage, event: dict[str, Any], label: str, key: Any = None) -> None:
        url = page.webhook_url or self.config.webhook_url
        if not url:
            return
        now_ms = int(self.clock.wall() * 1000)
        payload = {"object": "page", "entry": [{"id": page.id, "time": now_ms, "messaging": [event]}]}
        post_signed(self.poster, self.verifier, url, payload, self.config.app_secret, label=label, key=key, sha1=True)

    def _on_item(self, page: MessengerPage, item: Item) -> None:
        if isinstance(item, Receipt):
            record = item.message.ref
            if (not isinstance(record, MessengerMessage) or record.delivered or item.intermediate
                    or not item.state.is_success):
                return  # Messenger has no webhook for a message that never arrived
            record.delivered = True
            watermark = int(item.done_at * 1000)
            base = {"sender": {"id": record.psid}, "recipient": {"id": page.id}, "timestamp": watermark}
            self._post(page, {**base, "delivery": {"mids": [record.mid], "watermark": watermark}},
                       f"messenger delivery {record.mid}", key=record.mid)
            if self.config.read_after is not None:
                self.carrier.scheduler.call_later(self.config.read_after, self._read, record, watermark)
        elif isinstance(item, Inbound) and first_part(item):
            core = item.message
            mid = "m_" + base64.urlsafe_b64encode(f"{core.source}:{core.id}".encode()).decode().rstrip("=")
            self._post(page, {"sender": {"id": core.source}, "recipient": {"id": page.id},
                              "timestamp": int(core.submitted_at * 1000), "message": {"mid": mid, "text": core.text}},
                       f"messenger message {mid}")

    def _read(self, record: MessengerMessage, delivered_at: int) -> None:
        now = max(int(self.clock.wall() * 1000), delivered_at)
        self._post(record.page, {"sender": {"id": record.psid}, "recipient": {"id": record.page.id}, "timestamp": now,
                                 "read": {"watermark": now}}, f"messenger read {record.mid}", key=record.mid)

    def reset(self) -> None:
        self.verifier.forget()


def _content(message: Any) -> str:
    if not isinstance(message, dict):
        raise bad_param("The parameter message is required")
    text = message.get("text")
    if text is not None:
        if not isinstance(text, str) or not text:
            raise bad_param("Param message[text] must be a non-empty UTF-8 encoded string")
        if len(text) > MAX_TEXT:
            raise bad_param(f"Length of param message[text] must be less than or equal to {MAX_TEXT}")
        return text
    attachment = message.get("attachment")
    if isinstance(attachment, dict) and isinstance(attachment.get("type"), str):
        return f"[{attachment['type']}]"
    raise bad_param("Must send either message or state")
