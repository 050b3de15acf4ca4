"""pytest fixtures that run carrier-sim for a test and hand back clients pointed at it (Twilio, SMPP, SMTP)."""

from __future__ import annotations

import email
import email.policy
import http.server
import smtplib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from simulator.config import Config, ControlConfig, ProvidersConfig, SmppConfig, SmtpConfig
from simulator.core.scenario import Scenario, parse_scenario
from simulator.http.sdk import CarrierSimHttpClient
from simulator.testing import WAIT, SimulatorThread, SmppTestClient

__all__ = [
    "CarrierSim", "SmppTestClient", "SmtpTestClient", "SmtpSink", "WebhookReceiver", "ReceivedRequest",
    "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "default_config",
]

TWILIO_ACCOUNT_SID = "AC" + "c0ffee00" * 4
TWILIO_AUTH_TOKEN = "carrier-sim-auth-token"
SMTP_DOMAIN = "sms.carrier-sim.test"
DEFAULT_SCENARIO = """
name: pytest-default
seed: 1
defaults:
  receipt:
    states: [{state: DELIVRD}]
    delay: 20ms
"""


def default_config() -> Config:
    """Loopback, ephemeral ports, every provider API open (any credentials), SMTP on a free port."""
    return Config(smpp=SmppConfig(port=0), control=ControlConfig(port=0),
                  providers=ProvidersConfig(smtp=SmtpConfig(port=0, domain=SMTP_DOMAIN)))


# ---------------------------------------------------------------------------- the simulator


class CarrierSim:
    """A running carrier-sim (in its own thread and event loop) with its addresses and a few shortcuts."""

    def __init__(self, thread: SimulatorThread) -> None:
        self.thread = thread

    @property
    def simulator(self):
        return self.thread.simulator

    @property
    def carrier(self):
        return self.thread.carrier

    @property
    def base_url(self) -> str:
        """Where the provider HTTP APIs (Twilio, Infobip, ClickSend, WhatsApp, Messenger) answer."""
        return self.simulator.providers_url

    @property
    def control_url(self) -> str:
        return self.thread.control_url

    @property
    def smpp_port(self) -> int:
        return self.thread.smpp_port

    @property
    def smtp_port(self) -> int:
        return self.simulator.smtp_port

    @property
    def smtp_domain(self) -> str:
        smtp = self.simulator.config.providers.smtp
        return smtp.domain if smtp is not None else ""

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = WAIT) -> Any:
        """Run fn(*args) on the simulator's loop (the safe way to read or change the carrier)."""
        return self.thread.call(fn, *args, timeout=timeout)

    def handset_send(self, source: str, destination: str, text: str) -> str:
        """A handset sends an SMS (e.g. replies to a Twilio number); returns the carrier's message id."""
        return self.call(lambda: self.carrier.handset_send(source, destination, text).id)

    def handset_inbox(self, number: str) -> list[str]:
        """Texts the virtual handset `number` has received, oldest first."""
        return self.call(lambda: [m.text for m in self.carrier.handsets.inbox(number)])

    def relay_replies_to(self, host: str, port: int) -> None:
        """Email SMS replies to the SMTP server at host:port (e.g. the smtp_sink fixture)."""
        def change() -> None:
            smtp = self.simulator.providers.smtp
            assert smtp is not None, "SMTP is not enabled in this carrier-sim's config"
            smtp.config.relay_host, smtp.config.relay_port = host, port

        self.call(change)

    def twilio_client(self, account_sid: str = TWILIO_ACCOUNT_SID, auth_token: str = TWILIO_AUTH_TOKEN):
        """The official twilio.rest.Client, its requests rewritten from https://api.twilio.com to here."""
        from twilio.rest import Client

        return Client(account_sid, auth_token, http_client=CarrierSimHttpClient(self.base_url, timeout=WAIT))


@pytest.fixture
def carrier_sim_config() -> Config:
    """Override to configure the simulator (keep ports at 0 so tests can run side by side)."""
    return default_config()


@pytest.fixture
def carrier_sim_scenario() -> Scenario | None:
    """Override to choose the scenario; the default delivers everything after 20 ms."""
    return parse_scenario(DEFAULT_SCENARIO)


@pytest.fixture
def carrier_sim(carrier_sim_config: Config, carrier_sim_scenario: Scenario | None) -> Iterator[CarrierSim]:
    """carrier-sim running for one test in a background thread: fine for plain, asyncio and trio tests."""
    with SimulatorThread(carrier_sim_config, scenario=carrier_sim_scenario) as thread:
        yield CarrierSim(thread)


# ---------------------------------------------------------------------------- clients


@pytest.fixture
def twilio_client(carrier_sim: CarrierSim):
    """The official Twilio SDK client, pointed at carrier-sim (open mode: these credentials are accepted)."""
    return carrier_sim.twilio_client()


@pytest.fixture
def smpp_client(carrier_sim: CarrierSim) -> Iterator[Callable[..., SmppTestClient]]:
    """Open bound smpplib clients: `smpp_client("acme")` or `smpp_client("acme", bind="receiver")`."""
    clients: list[SmppTestClient] = []

    def connect(system_id: str = "pytest", password: str = "secret", bind: str = "transceiver") -> SmppTestClient:
        client = SmppTestClient(carrier_sim.smpp_port, system_id, password, bind)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


@dataclass(slots=True)
class SmtpTestClient:
    """Where to send email-to-SMS: `settings` for aiosmtplib.send(**settings), or the blocking send()."""

    hostname: str
    port: int
    domain: str

    @property
    def settings(self) -> dict[str, Any]:
        return {"hostname": self.hostname, "port": self.port, "start_tls": False, "use_tls": False, "timeout": WAIT}

    def address(self, number: str) -> str:
        return f"{number.lstrip('+')}@{self.domain}"

    def message(self, sender: str, number: str, body: str, subject: str = "SMS") -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = self.address(number)
        message["Subject"] = subject
        message.set_content(body)
        return message

    def send(self, sender: str, number: str, body: str, subject: str = "SMS") -> dict[str, tuple[int, bytes]]:
        """Send with smtplib (blocking); returns smtplib's refused-recipients dict, raises on refusal."""
        with smtplib.SMTP(self.hostname, self.port, timeout=WAIT) as client:
            return client.send_message(self.message(sender, number, body, subject))


@pytest.fixture
def smtp_client(carrier_sim: CarrierSim) -> SmtpTestClient:
    return SmtpTestClient("127.0.0.1", carrier_sim.smtp_port, carrier_sim.smtp_domain)


# ---------------------------------------------------------------------------- receivers


@dataclass(slots=True)
class ReceivedRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass(slots=True)
class _Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    times: int | None = None  # None: always


class WebhookReceiver:
    """A threaded HTTP server recording every request: status callbacks, inbound webhooks, DLR pushes.

    GETs carrying hub.challenge are answered with the challenge (Meta's verification handshake). Other
    requests get 200 with an empty body unless `answer()` says otherwise (a TwiML reply, or failures).
    """

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self._answers: dict[str, list[_Answer]] = {}
        self._cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                request = ReceivedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                          body, time.monotonic())
                answer = receiver._answer_for(request)
                self.send_response(answer.status)
                self.send_header("content-type", answer.content_type)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
                with receiver._cond:
                    receiver.requests.append(request)
                    receiver._cond.notify_all()

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path if path.startswith('/') else '/' + path}"

    def answer(self, path: str, status: int = 200, body: bytes | str = b"", content_type: str = "text/plain",
               times: int | None = None) -> None:
        """How to answer requests to `path`: answers queue up; one with times=None stays for good."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self._cond:
            self._answers.setdefault(path, []).append(_Answer(status, data, content_type, times))

    def _answer_for(self, request: ReceivedRequest) -> _Answer:
        path = urlsplit(request.path).path
        query = dict(parse_qsl(urlsplit(request.path).query))
        with self._cond:
            answers = self._answers.get(path)
            if answers:
                answer = answers[0]
                if answer.times is not None:
                    answer.times -= 1
                    if answer.times <= 0:
                        answers.pop(0)
                return answer
        if request.method == "GET" and "hub.challenge" in query:
            return _Answer(200, query["hub.challenge"].encode())
        return _Answer()

    def received(self, path: str | None = None, method: str | None = None) -> list[ReceivedRequest]:
        with self._cond:
            return [r for r in self.requests if (path is None or urlsplit(r.path).path == path)
                    and (method is None or r.method == method)]

    def wait_for(self, path: str | None = None, count: int = 1, timeout: float = WAIT, method: str | None = "POST",
                 where: Callable[[ReceivedRequest], bool] | None = None) -> list[ReceivedRequest]:
        """The first `count` requests to `path` (matching `where`), once they have arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self.requests if (path is None or urlsplit(r.path).path == path)
                         and (method is None or r.method == method) and (where is None or where(r))]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)} of {count} requests to {path} within {timeout}s "
                                         f"(all: {[(r.method, r.path) for r in self.requests]})")
                self._cond.wait(left)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@dataclass
class SmtpSink:
    """An aiosmtpd server in a thread that keeps every mail it is sent (the reply relay for tests)."""

    hostname: str = "127.0.0.1"
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from aiosmtpd.controller import Controller

        sink = self
        self._cond = threading.Condition()

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
                message = email.message_from_bytes(envelope.original_content or envelope.content,
                                                   policy=email.policy.default)
                with sink._cond:
                    sink.messages.append(message)
                    sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                    sink._cond.notify_all()
                return "250 OK"

        class AnyPortController(Controller):
            def _trigger_server(self) -> None:
                # Listening on port 0: learn the port the OS picked before aiosmtpd connects to check it.
                self.port = self.server.sockets[0].getsockname()[1]
                super()._trigger_server()

        self._controller = AnyPortController(Handler(), hostname=self.hostname, port=0)
        self._controller.start()
        self.port = self._controller.port

    def wait_for(self, count: int = 1, timeout: float = WAIT) -> list[email.message.EmailMessage]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.messages)} of {count} mails within {timeout}s")
                self._cond.wait(left)
            return self.messages[:count]

    def close(self) -> None:
        self._controller.stop()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A local SMTP server catching mail; `carrier_sim.relay_replies_to("127.0.0.1", smtp_sink.port)`."""
    sink = SmtpSink()
    yield sink
    sink.close()
