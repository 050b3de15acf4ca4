"""Point the official SDKs at carrier-sim: a URL-rewriting twilio-python HTTP client and a ClickSend configuration."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["CarrierSimHttpClient", "twilio_client", "clicksend_configuration"]

# Every Twilio product host (api.twilio.com, api.us1.twilio.com, messaging.twilio.com, ...).
_TWILIO_HOST = re.compile(r"^https://[A-Za-z0-9.-]*\.twilio\.com(?=/|$)")

try:
    from twilio.http.http_client import TwilioHttpClient
except ImportError:  # the SDK is a test extra; the module still imports without it
    TwilioHttpClient = object  # type: ignore[assignment,misc]


class CarrierSimHttpClient(TwilioHttpClient):  # type: ignore[misc,valid-type]
    """twilio-python's own HTTP client, with https://*.twilio.com rewritten to carrier-sim's base URL.

    twilio-python has no base-URL option or environment variable; its maintainers' advice is a custom
    http_client. Everything else (auth, retries, parsing) stays the SDK's own.
    """

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def rewrite(self, url: str) -> str:
        return _TWILIO_HOST.sub(self.base_url, url, count=1)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any):  # type: ignore[override]
        return super().request(method, self.rewrite(url), *args, **kwargs)


def twilio_client(base_url: str, account_sid: str, auth_token: str, **kwargs: Any):
    """An official twilio.rest.Client whose every request goes to carrier-sim at base_url."""
    from twilio.rest import Client

    return Client(account_sid, auth_token, http_client=CarrierSimHttpClient(base_url, **kwargs))


def clicksend_configuration(base_url: str, username: str, api_key: str):
    """A clicksend.Configuration for the official ClickSend SDK, pointed at carrier-sim."""
    import clicksend

    return clicksend.Configuration(host=base_url.rstrip("/"), username=username, password=api_key)
