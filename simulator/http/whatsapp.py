"""WhatsApp Business Cloud API (POST /{version}/{phone-number-id}/messages) and its signed webhooks, over the carrier core."""

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

from simulator.config import WhatsAppConfig, WhatsAppNumberConfig
from simulator.core.records import Inbound, Item, Receipt
from simulator.core.scheduler import Timer
from simulator.smpp import text as sms_text

from .common import (
    BodyTooLarge, FrontEnd, JsonResponse, core_address, encode_text, first_part, guarded, parse_json, read_body,
    register_account, submit_text, system_id_for,
)
from .graph import GraphError, HubVerifier, access_token, bad_param, graph_error, invalid_token, post_signed
from .webhooks import MailboxEndpoint

__all__ = ["WhatsAppApi"]

_log = logging.getLogger("carrier_sim.http.whatsapp")

MAX_TEXT = 4096
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
OTHER_TYPES = ("template", "interactive", "location", "contacts", "reaction")
UNDELIVERABLE = {"code": 131026, "title": "Message undeliverable",
                 "message": "Message undeliverable", "error_data": {"details": "Message could not be delivered."}}
OPTED_OUT = {"code": 131050, "title": "Unable to deliver the message. This recipient has chosen to stop receiving "
                                      "marketing messages on WhatsApp from your business",
             "message": "Recipient opted out", "error_data": {"details": "The recipient opted out of this sender."}}


@dataclass(slots=True, eq=False)
class WhatsAppNumber:
    id: str
    display: str  # digits, the handset-facing number
    webhook_url: str
    system_id: str


@dataclass(slots=True, eq=False)
class WhatsAppMessage:
    number: WhatsAppNumber
    wamid: str
    to: str  # digits
    status: str = "accepted"
    timer: Timer | None = None


class WhatsAppApi:
    def __init__(self, front: FrontEnd, config: WhatsAppConfig) -> None:
        self.front = front
        self.carrier = front.carrier
        self.poster = front.poster
        self.config = config
        self.clock = self.carrier.clock
        self.verifier = HubVerifier(config.verify_token)
        self.numbers: dict[str, WhatsAppNumber] = {}
        self.open_numbers = not config.phone_numbers
        self._tokens = set(config.access_tokens)
        for number in config.phone_numbers:
            self._add(number)

    def _add(self, cfg: WhatsAppNumberConfig) -> WhatsAppNumber:
        number = WhatsAppNumber(cfg.id, core_address(cfg.display_phone_number), cfg.webhook_url,
                                system_id_for("wa", cfg.id))
        self.numbers[cfg.id] = number
        register_account(self.carrier, number.system_id, [number.display])
        self.carrier.outbox.attach(MailboxEndpoint(self.carrier.outbox, self.carrier.scheduler, number.system_id,
                                                   lambda item, n=number: self._on_item(n, item), self.poster))
        return number

    def _number(self, number_id: str) -> WhatsAppNumber:
        number = self.numbers.get(number_id)
        if number is None:
            if not self.open_numbers or not number_id.isdigit() or len(number_id) > 20:
                raise GraphError(400, 100, f"Unsupported post request. Object with ID '{number_id}' does not exist, "
                                           f"cannot be loaded due to missing permissions, or does not support this "
                                           f"operation.", "GraphMethodException", 33)
            number = self._add(WhatsAppNumberConfig(id=number_id, display_phone_number=number_id))
        return number

    # ------------------------------------------------------------------ app

    def app(self) -> ASGIApp:
        routes = [Route("/{version}/{number_id}/messages", self.send, methods=["POST"])]

        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            return graph_error(400, 100, f"Unknown path components: {request.url.path}", "OAuthException")

        app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
        return guarded(app, lambda error: graph_error(500, 1, "An unknown error occurred", "OAuthException"),
                       "whatsapp")

    async def send(self, request: Request) -> Response:
        try:
            token = access_token(request)
            if not token or (self._tokens and token not in self._tokens):
                raise invalid_token()
            number = self._number(request.path_params["number_id"])
            try:
                data = parse_json(await read_body(request))
            except ValueError:
                raise bad_param("The request body is not valid JSON.") from None
            if not isinstance(data, dict):
                raise bad_param("The request body must be a JSON object.")
            if data.get("messaging_product") != "whatsapp":
                raise bad_param("The parameter messaging_product is required.")
            if data.get("status") == "read":  # marking an inbound message as read
                if not isinstance(data.get("message_id"), str):
                    raise bad_param("The parameter message_id is required.")
                return JsonResponse({"success": True})
            return JsonResponse(self._send(number, data))
        except GraphError as error:
            return error.response()
        except BodyTooLarge:
            return graph_error(413, 100, "(#100) Request body too large")

    def _send(self, number: WhatsAppNumber, data: dict[str, Any]) -> dict[str, Any]:
        to = data.get("to")
        if not isinstance(to, str) or not to.strip():
            raise bad_param("The parameter to is required.")
        wa_id = core_address(to.strip()).replace(" ", "").replace("-", "")
        if not wa_id.isdigit() or not 5 <= len(wa_id) <= 15:
            raise GraphError(400, 131009, "(#131009) Parameter value is not valid", subcode=2494010)
        kind = data.get("type", "text")
        text = _content(kind, data)
        try:
            encoded = encode_text(text)
        except sms_text.TextEncodingError:
            raise bad_param(f"Param text['body'] must be at most {MAX_TEXT} characters long.") from None
        record = WhatsAppMessage(number, "", wa_id)
        result = submit_text(self.carrier, number.system_id, "http", number.display, wa_id, encoded, ref=record)
        core_id = result.message_id or f"refused-{id(record):x}"
        record.wamid = "wamid." + base64.b64encode(f"{wa_id}:{core_id}".encode()).decode().rstrip("=")
        if result.ok:
            self._status(record, "sent")
        elif result.answered:
            opted_out = self.carrier.handsets.opted_out(wa_id, number.display)
            self._status(record, "failed", OPTED_OUT if opted_out else UNDELIVERABLE)
        return {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": wa_id}],
                "messages": [{"id": record.wamid}]}

    # ------------------------------------------------------------------ webhooks

    def _url(self, number: WhatsAppNumber) -> str:
        return number.webhook_url or self.config.webhook_url

    def _envelope(self, number: WhatsAppNumber, value: dict[str, Any]) -> dict[str, Any]:
        return {"object": "whatsapp_business_account", "entry": [{
            "id": self.config.business_account_id,
            "changes": [{"value": {"messaging_product": "whatsapp",
                                   "metadata": {"display_phone_number": number.display,
                                                "phone_number_id": number.id}, **value},
                         "field": "messages"}],
        }]}

    def _status(self, record: WhatsAppMessage, status: str, error: dict[str, Any] | None = None) -> None:
        record.status = status
        url = self._url(record.number)
        if not url:
            return
        entry: dict[str, Any] = {"id": record.wamid, "status": status, "timestamp": str(int(self.clock.wall())),
                                 "recipient_id": record.to}
        if status in ("sent", "delivered"):
            entry["conversation"] = {"id": record.wamid[6:38], "origin": {"type": "service"}}
            entry["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
        if error is not None:
            entry["errors"] = [error]
        post_signed(self.poster, self.verifier, url, self._envelope(record.number, {"statuses": [entry]}),
                    self.config.app_secret, label=f"whatsapp {status} {record.wamid}", key=record.wamid)

    def _on_item(self, number: WhatsAppNumber, item: Item) -> None:
        if isinstance(item, Receipt):
            record = item.message.ref
            if not isinstance(record, WhatsAppMessage) or item.intermediate or record.status in (
                    "delivered", "read", "failed"):
                return
            if item.state.is_success:
                self._status(record, "delivered")
                if self.config.read_after is not None:
                    record.timer = self.carrier.scheduler.call_later(self.config.read_after, self._read, record)
            else:
                opted_out = item.error in (610, 21610)
                self._status(record, "failed", OPTED_OUT if opted_out else UNDELIVERABLE)
        elif isinstance(item, Inbound) and first_part(item):
            self._inbound(number, item)

    def _read(self, record: WhatsAppMessage) -> None:
        record.timer = None
        if record.status == "delivered":
            self._status(record, "read")

    def _inbound(self, number: WhatsAppNumber, item: Inbound) -> None:
        core = item.message
        url = self._url(number)
        if not url:
            return
        sender = core_address(core.source)
        wamid = "wamid." + base64.b64encode(f"{sender}:{core.id}".encode()).decode().rstrip("=")
        value = {
            "contacts": [{"profile": {"name": f"Handset {sender}"}, "wa_id": sender}],
            "messages": [{"from": sender, "id": wamid, "timestamp": str(int(core.submitted_at)), "type": "text",
                          "text": {"body": core.text}}],
        }
        post_signed(self.poster, self.verifier, url, self._envelope(number, value), self.config.app_secret,
                    label=f"whatsapp inbound {wamid}")

    def reset(self) -> None:
        self.verifier.forget()


def _content(kind: Any, data: dict[str, Any]) -> str:
    """The text the carrier carries for a message of this type."""
    if kind == "text":
        text = data.get("text")
        body = text.get("body") if isinstance(text, dict) else None
        if not isinstance(body, str) or not body:
            raise bad_param("The parameter text['body'] is required.")
        if len(body) > MAX_TEXT:
            raise bad_param(f"Param text['body'] must be at most {MAX_TEXT} characters long.")
        return body
    if kind in MEDIA_TYPES:
        media = data.get(kind)
        if not isinstance(media, dict) or not (media.get("id") or media.get("link")):
            raise bad_param(f"The parameter {kind}['link'] or {kind}['id'] is required.")
        caption = media.get("caption")
        return caption if isinstance(caption, str) and caption else f"[{kind}]"
    if kind == "template":
        template = data.get("template")
        if not isinstance(template, dict) or not isinstance(template.get("name"), str):
            raise bad_param("The parameter template['name'] is required.")
        return f"[template {template['name']}]"
    if kind in OTHER_TYPES:
        if not isinstance(data.get(kind), dict):
            raise bad_param(f"The parameter {kind} is required.")
        return f"[{kind}]"
    raise bad_param(f"Param type must be one of {{{', '.join(('text',) + MEDIA_TYPES + OTHER_TYPES)}}}.")
