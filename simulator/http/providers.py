"""Mounts the provider front ends (Twilio, Infobip, ClickSend, WhatsApp, Messenger, SMTP) on one carrier."""

from __future__ import annotations

import logging
import re
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from simulator.config import ProvidersConfig
from simulator.core.carrier import Carrier

from .common import FrontEnd, JsonResponse
from .webhooks import WebhookPoster

__all__ = ["ProviderFrontEnds"]

_log = logging.getLogger("carrier_sim.http.providers")

_GRAPH = re.compile(r"^/v\d+(?:\.\d+)?/([^/]+)/")


class ProviderFrontEnds:
    """Every enabled provider, sharing the carrier and one webhook poster, behind one ASGI dispatcher.

    Requests are routed by path, as the real services' hosts would separate them:
    /2010-04-01/... Twilio, /sms/... Infobip, /v3/... ClickSend, /v{N}/me/... and configured page ids
    Messenger, any other /v{N}/{id}/... WhatsApp. Anything else goes to `fallback` (the control API).
    """

    def __init__(self, carrier: Carrier, config: ProvidersConfig) -> None:
        self.carrier = carrier
        self.config = config
        self.poster = WebhookPoster(carrier.scheduler, carrier.clock, config.webhooks)
        carrier.add_reset_listener(self.reset)  # the control API's reset forgets the front ends' records too
        front = FrontEnd(carrier, self.poster)
        self.twilio = self.infobip = self.clicksend = self.whatsapp = self.messenger = None
        self.smtp: Any = None
        if config.twilio.enabled:
            from .twilio import TwilioApi

            self.twilio = TwilioApi(front, config.twilio)
        if config.infobip.enabled:
            from .infobip import InfobipApi

            self.infobip = InfobipApi(front, config.infobip)
        if config.clicksend.enabled:
            from .clicksend import ClickSendApi

            self.clicksend = ClickSendApi(front, config.clicksend)
        if config.whatsapp.enabled:
            from .whatsapp import WhatsAppApi

            self.whatsapp = WhatsAppApi(front, config.whatsapp)
        if config.messenger.enabled:
            from .messenger import MessengerApi

            self.messenger = MessengerApi(front, config.messenger)
        if config.smtp is not None:
            from simulator.smtp.gateway import SmtpGateway

            self.smtp = SmtpGateway(front, config.smtp)
        self._apps: dict[str, ASGIApp] = {}
        for name in ("twilio", "infobip", "clicksend", "whatsapp", "messenger"):
            api = getattr(self, name)
            if api is not None:
                self._apps[name] = api.app()

    @property
    def enabled(self) -> list[str]:
        names = [name for name in ("twilio", "infobip", "clicksend", "whatsapp", "messenger")
                 if getattr(self, name) is not None]
        return names + (["smtp"] if self.smtp is not None else [])

    async def start(self) -> list[tuple[str, str, int]]:
        """Start the poster and the SMTP listener; returns (name, host, port) of listeners opened here."""
        await self.poster.start()
        opened = []
        if self.smtp is not None:
            host, port = await self.smtp.start()
            opened.append(("smtp", host, port))
        return opened

    async def stop(self) -> None:
        if self.smtp is not None:
            await self.smtp.stop()
        await self.poster.stop()

    def reset(self) -> None:
        """Forget what the front ends keep beside the carrier (messages, queues, reports)."""
        self.poster.reset()
        for name in ("twilio", "infobip", "clicksend", "whatsapp", "messenger", "smtp"):
            api = getattr(self, name)
            if api is not None and hasattr(api, "reset"):
                api.reset()

    # ------------------------------------------------------------------ dispatch

    def route(self, path: str) -> str | None:
        if path.startswith("/2010-04-01/"):
            return "twilio"
        if path.startswith("/sms/"):
            return "infobip"
        if path.startswith("/v3/"):
            return "clicksend"
        match = _GRAPH.match(path)
        if match is not None:
            node = match.group(1)
            if self.messenger is not None and (node == "me" or self.messenger.owns_page(node)):
                return "messenger"
            return "whatsapp" if self.whatsapp is not None else "messenger"
        return None

    def asgi(self, fallback: ASGIApp | None = None) -> ASGIApp:
        """The providers' ASGI app; other paths go to `fallback` (or get a plain JSON 404)."""
        apps = self._apps

        async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                path = scope["path"]
                name = self.route(path)
                app = apps.get(name) if name is not None else None
                if app is not None:
                    await app(scope, receive, send)
                    return
            if fallback is not None:
                await fallback(scope, receive, send)
            elif scope["type"] == "http":
                await JsonResponse({"error": {"code": "not_found", "message": f"no provider API at {scope['path']}"}},
                                   404)(scope, receive, send)

        return dispatch
