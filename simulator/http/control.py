"""The control API: drive the carrier (MO, handsets, binds, reset) and read back what happened, over HTTP + JSON."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message as AsgiMessage, Receive, Scope, Send

from simulator.core.records import Message, MessageState
from simulator.smpp import text as sms_text
from simulator.smpp.receipts import state_from_word

if TYPE_CHECKING:
    from simulator.app import Simulator

__all__ = [
    "API_PREFIX",
    "OPENAPI",
    "ApiError",
    "build_app",
    "error_response",
    "iso_time",
    "message_json",
    "parse_time",
    "read_json",
    "routes",
]

_log = logging.getLogger("carrier_sim.http.control")

API_PREFIX = "/api/v1"
MAX_BODY = 1 << 20  # octets; the control API never needs more
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
UNBIND_GRACE = 2.0  # seconds a kicked bind has to answer our unbind before the connection is dropped
DROP_GRACE = 2.0  # seconds to wait for an aborted connection to be reported lost
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_ADDRESS = re.compile(r"\+?[0-9A-Za-z]{1,20}")


# ---------------------------------------------------------------------------- errors and JSON


class ApiError(Exception):
    """Raised by a handler (or a helper it calls) to answer with `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate somewhere: escaped JSON is still valid JSON
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def json_response(content: Any, status: int = 200) -> Response:
    return _Json(content, status_code=status)


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return _Json({"error": {"code": code, "message": message}}, status_code=status, headers=dict(headers or {}))


_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"no such resource: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    if exc.status_code < 200 or exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return error_response(exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), message, exc.headers)


class CatchAll:
    """Whatever escapes a handler is logged and answered 500 in the error shape; the server keeps serving."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: AsgiMessage) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            _log.exception("control API: %s %s failed", scope.get("method"), scope.get("path"))
            if started:
                return  # half a response has gone out; the server closes the connection
            response = error_response(500, "internal", f"internal error: {type(error).__name__}: {error}")
            await response(scope, receive, send)


async def read_json(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; ApiError 400/413 when it is not one."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, "payload_too_large", f"the body may be at most {MAX_BODY} octets")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, "payload_too_large", f"the body may be at most {MAX_BODY} octets")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise bad_request("the body must be a JSON object")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise bad_request(f"the body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise bad_request(f"the body must be a JSON object, not {_json_type(body)}")
    return body


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# ---------------------------------------------------------------------------- times


def iso_time(value: float | None) -> str | None:
    """Unix seconds as ISO-8601 UTC with milliseconds (`2024-05-01T12:00:00.123Z`), None as None."""
    if value is None:
        return None
    try:
        stamp = datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str, name: str) -> float:
    """Unix seconds (`1714564800`, `1714564800.5`) or ISO-8601 (naive means UTC) -> Unix seconds."""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if number != number or number in (float("inf"), float("-inf")):
            raise bad_request(f"{name} must be a finite time")
        return number
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{name} must be Unix seconds or an ISO-8601 time, got {value!r}") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp()


# ---------------------------------------------------------------------------- rendering


def message_json(message: Message, *, history: bool = False) -> dict[str, Any]:
    """The control API's JSON for one message (also for other routers: keep one rendering)."""
    data: dict[str, Any] = {
        "id": message.id,
        "system_id": message.system_id,
        "channel": message.channel,
        "direction": message.direction,
        "from": message.source,
        "to": message.destination,
        "text": message.text,
        "data_coding": message.data_coding,
        "parts": message.parts,
        "part": message.part,
        "group": message.group,
        "state": message.state.name,
        "error": message.error,
        "network_error": list(message.network_error) if message.network_error is not None else None,
        "registered_delivery": message.registered_delivery,
        "submitted_at": iso_time(message.submitted_at),
        # Unix seconds at full resolution: load tests measure gateway-added latency from it.
        "submitted_at_unix": message.submitted_at,
        "final_at": iso_time(message.final_at),
        "schedule_at": iso_time(message.schedule_at),
        "expire_at": iso_time(message.expire_at),
    }
    if history:
        data["history"] = [{"at": iso_time(at), "event": event, "detail": detail}
                           for at, event, detail in message.history]
    return data


def bind_json(info: Any) -> dict[str, Any]:
    """A BindInfo as JSON: its fields as they are, connected_at as ISO-8601."""
    data = dataclasses.asdict(info)
    data["connected_at"] = iso_time(info.connected_at)
    return data


# ---------------------------------------------------------------------------- request bodies


def _check_fields(body: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise bad_request(f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")


def _address(body: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise bad_request(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string, not {_json_type(value)}")
    return _valid_address(value, name)


def _valid_address(value: str, name: str) -> str:
    value = value.strip()
    if not _ADDRESS.fullmatch(value):
        raise bad_request(f"{name} must be 1-20 letters or digits (optionally after +), got {value!r}")
    return value


def _text(body: Mapping[str, Any]) -> str:
    value = body.get("text")
    if value is None:
        raise bad_request("text is required")
    if not isinstance(value, str):
        raise bad_request(f"text must be a string, not {_json_type(value)}")
    return value


def _data_coding(body: Mapping[str, Any], text: str) -> int | None:
    value = body.get("data_coding")
    if value is not None and (isinstance(value, bool) or value not in (0, 8) or not isinstance(value, int)):
        raise bad_request(f"data_coding must be 0 (GSM 03.38), 8 (UCS-2) or null, got {value!r}")
    coding = sms_text.choose_data_coding(text) if value is None else value
    try:
        segments = sms_text.count_segments(text, coding)
    except sms_text.TextEncodingError as error:
        raise bad_request(f"text does not fit data_coding {coding}: {error}") from None
    if segments > sms_text.MAX_SEGMENTS:
        raise bad_request(f"text needs {segments} segments; at most {sms_text.MAX_SEGMENTS} can be concatenated")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class MoRequest:
    """POST /api/v1/mo: a handset sends a message."""

    source: str
    destination: str
    text: str
    data_coding: int | None = None
    system_id: str | None = None

    FIELDS = ("from", "to", "text", "data_coding", "system_id")

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> MoRequest:
        _check_fields(body, cls.FIELDS)
        source = _address(body, "from")
        destination = _address(body, "to")
        text = _text(body)
        data_coding = _data_coding(body, text)
        system_id = body.get("system_id")
        if system_id is not None and (not isinstance(system_id, str) or not 1 <= len(system_id) <= 15):
            raise bad_request("system_id must be null or a string of 1-15 characters")
        assert source is not None and destination is not None
        return cls(source, destination, text, data_coding, system_id)


@dataclasses.dataclass(frozen=True, slots=True)
class ReplyRequest:
    """POST /api/v1/handsets/{number}/reply: the handset answers (by default the newest sender)."""

    text: str
    to: str | None = None
    data_coding: int | None = None

    FIELDS = ("to", "text", "data_coding")

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ReplyRequest:
        _check_fields(body, cls.FIELDS)
        to = _address(body, "to", required=False)
        text = _text(body)
        return cls(text, to, _data_coding(body, text))


@dataclasses.dataclass(frozen=True, slots=True)
class MessageQuery:
    """GET /api/v1/messages query parameters."""

    to: str | None = None
    sender: str | None = None
    system_id: str | None = None
    state: MessageState | None = None
    direction: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int = DEFAULT_LIMIT

    PARAMS = ("to", "from", "system_id", "status", "direction", "since", "until", "limit")

    @classmethod
    def from_params(cls, params: Mapping[str, str], keys: Iterable[str]) -> MessageQuery:
        _check_params(keys, cls.PARAMS)
        state = None
        if "status" in params:
            try:
                state = state_from_word(params["status"])
            except ValueError as error:
                raise bad_request(f"status: {error}") from None
        direction = params.get("direction")
        if direction is not None:
            direction = direction.strip().lower()
            if direction not in ("mt", "mo"):
                raise bad_request(f"direction must be mt or mo, got {params['direction']!r}")
        limit = DEFAULT_LIMIT
        if "limit" in params:
            raw = params["limit"].strip()
            if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
                raise bad_request(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {params['limit']!r}")
            limit = int(raw)
        since = parse_time(params["since"], "since") if "since" in params else None
        until = parse_time(params["until"], "until") if "until" in params else None
        return cls(
            to=params.get("to"), sender=params.get("from"), system_id=params.get("system_id"), state=state,
            direction=direction, since=since, until=until, limit=limit,
        )


def _check_params(keys: Iterable[str], allowed: Sequence[str]) -> None:
    unknown = sorted(set(keys) - set(allowed))
    if unknown:
        raise bad_request(f"unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} "
                          f"(expected {', '.join(allowed)})")


# ---------------------------------------------------------------------------- handlers


class ControlApi:
    """The handlers, bound to one simulator. All are coroutines: they run on the carrier's event loop."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.carrier = simulator.carrier

    def _send(self, source: str, destination: str, text: str, data_coding: int | None,
              system_id: str | None) -> Response:
        message = self.carrier.handset_send(source, destination, text, data_coding=data_coding, system_id=system_id)
        body = message_json(message)
        body["routed_to"] = message.system_id or "handset"
        return json_response(body, 201)

    async def mo(self, request: Request) -> Response:
        mo = MoRequest.from_json(await read_json(request))
        accounts = self.carrier.accounts
        if mo.system_id is not None and not accounts.open_mode and accounts.get(mo.system_id) is None:
            raise bad_request(f"no account {mo.system_id!r}: it could never bind to receive the message")
        return self._send(mo.source, mo.destination, mo.text, mo.data_coding, mo.system_id)

    async def messages(self, request: Request) -> Response:
        params = request.query_params
        query = MessageQuery.from_params(params, params.keys())
        found = self.carrier.store.search(
            to=query.to, sender=query.sender, system_id=query.system_id, state=query.state, since=query.since,
            until=query.until, direction=query.direction, limit=query.limit,
        )
        return json_response({"messages": [message_json(m) for m in found], "count": len(found)})

    async def message(self, request: Request) -> Response:
        message_id = request.path_params["id"]
        message = self.carrier.store.get(message_id)
        if message is None:
            raise not_found(f"no message {message_id!r} (unknown, or evicted from the store)")
        return json_response(message_json(message, history=True))

    async def binds(self, request: Request) -> Response:
        binds = sorted(self.simulator.smpp.binds(), key=lambda c: (c.connected_at, c.id))
        return json_response({"binds": [bind_json(c.info()) for c in binds]})

    async def kick(self, request: Request) -> Response:
        _check_params(request.query_params.keys(), ("mode",))
        mode = request.query_params.get("mode", "unbind")
        if mode not in ("unbind", "drop"):
            raise bad_request(f"mode must be unbind or drop, got {mode!r}")
        bind_id = request.path_params["id"]
        connection = self.simulator.smpp.find(bind_id)
        if connection is None:
            raise not_found(f"no bind {bind_id!r}")
        if mode == "unbind" and connection.session.is_bound:
            connection.unbind()
            if not await _closed_within(connection, UNBIND_GRACE):
                _log.info("bind %s did not answer unbind within %gs; dropping it", bind_id, UNBIND_GRACE)
                connection.abort()
                await _closed_within(connection, DROP_GRACE)
        else:
            connection.abort()
            await _closed_within(connection, DROP_GRACE)
        return Response(status_code=204)

    async def handset_messages(self, request: Request) -> Response:
        number = request.path_params["number"]
        handsets = self.carrier.handsets
        return json_response({
            "number": number,
            "messages": [message_json(m) for m in handsets.inbox(number)],
            "opted_out_of": [sender for handset, sender in handsets.opt_outs() if handset == number],
        })

    async def handset_reply(self, request: Request) -> Response:
        number = _valid_address(request.path_params["number"], "number")
        reply = ReplyRequest.from_json(await read_json(request))
        to = reply.to
        if to is None:
            inbox = self.carrier.handsets.inbox(number)
            if not inbox:
                raise bad_request(f"handset {number} has no messages to reply to: give 'to'")
            to = inbox[-1].source
        return self._send(number, to, reply.text, reply.data_coding, None)

    async def reset(self, request: Request) -> Response:
        self.carrier.reset()
        return Response(status_code=204)

    async def healthz(self, request: Request) -> Response:
        return json_response({"status": "ok", "binds": len(self.simulator.smpp.binds()),
                              "store": len(self.carrier.store)})

    async def metrics(self, request: Request) -> Response:
        carrier = self.carrier
        gauges: dict[str, tuple[str, float]] = {
            "binds": ("Bound SMPP sessions.", len(self.simulator.smpp.binds())),
            "held_deliveries": ("Receipts and MOs waiting for a bind to deliver them to.", carrier.outbox.held()),
            "deliveries_in_flight": ("Receipts and MOs sent and not yet answered.", carrier.outbox.in_flight),
            "store_messages": ("Messages in the store.", len(carrier.store)),
            "scheduled_timers": ("Pending timers (receipts, expiries, retries).", len(carrier.scheduler)),
        }
        return PlainTextResponse(carrier.metrics.render(gauges), media_type=METRICS_CONTENT_TYPE)


async def _closed_within(connection: Any, seconds: float) -> bool:
    try:
        await asyncio.wait_for(connection.closed.wait(), seconds)
    except asyncio.TimeoutError:
        return False
    return True


# ---------------------------------------------------------------------------- routes and app


def routes(simulator: Simulator) -> list[BaseRoute]:
    """The control API's routes; other routers (scenario, faults) append theirs and pass the lot to build_app."""
    api = ControlApi(simulator)
    p = API_PREFIX
    return [
        Route(f"{p}/mo", api.mo, methods=["POST"], name="mo"),
        Route(f"{p}/messages", api.messages, methods=["GET"], name="messages"),
        Route(f"{p}/messages/{{id}}", api.message, methods=["GET"], name="message"),
        Route(f"{p}/binds", api.binds, methods=["GET"], name="binds"),
        Route(f"{p}/binds/{{id}}", api.kick, methods=["DELETE"], name="kick_bind"),
        Route(f"{p}/handsets/{{number}}/messages", api.handset_messages, methods=["GET"], name="handset_messages"),
        Route(f"{p}/handsets/{{number}}/reply", api.handset_reply, methods=["POST"], name="handset_reply"),
        Route(f"{p}/reset", api.reset, methods=["POST"], name="reset"),
        Route("/healthz", api.healthz, methods=["GET"], name="healthz"),
        Route("/metrics", api.metrics, methods=["GET"], name="metrics"),
    ]


def build_app(
    simulator: Simulator,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    openapi_paths: Mapping[str, Any] | None = None,
) -> Starlette:
    """The control app. `extra_routes` and `openapi_paths` let later routers mount beside these."""
    from .scenario_api import SCENARIO_OPENAPI

    document = openapi_document({**SCENARIO_OPENAPI, **(openapi_paths or {})})

    async def openapi(request: Request) -> Response:
        return json_response(document)

    from .scenario_api import scenario_routes

    all_routes = [*routes(simulator), *scenario_routes(simulator), *extra_routes,
                  Route("/openapi.json", openapi, methods=["GET"], name="openapi")]
    handlers: dict[Any, Callable[..., Any]] = {ApiError: _api_error, HTTPException: _http_error}
    return Starlette(routes=all_routes, middleware=[Middleware(CatchAll)], exception_handlers=handlers)


def openapi_document(extra_paths: Mapping[str, Any] | None = None) -> dict[str, Any]:
    document = json.loads(json.dumps(OPENAPI))  # a deep copy: callers may add to it
    if extra_paths:
        document["paths"].update(json.loads(json.dumps(dict(extra_paths))))
    return document


# ---------------------------------------------------------------------------- OpenAPI


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json_content(_ref("Error"))}


_TIME = {"type": ["string", "null"], "format": "date-time", "description": "ISO-8601 UTC with milliseconds"}
_BAD = _error("Invalid input")
_MISSING = _error("Unknown resource")
_DATA_CODING = {"type": ["integer", "null"], "enum": [0, 8, None],
                "description": "0 GSM 03.38, 8 UCS-2; null picks GSM 03.38 when the text fits it, else UCS-2"}
_ADDRESS_SCHEMA = {"type": "string", "pattern": r"^\+?[0-9A-Za-z]{1,20}$"}


def _param(name: str, where: str, description: str, schema: dict[str, Any] | None = None,
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "description": description,
            "schema": schema or {"type": "string"}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "carrier-sim control API",
        "version": "1.0.0",
        "description": "Drive the simulated carrier (MO, handsets, binds, reset) and read back what happened.",
    },
    "paths": {
        f"{API_PREFIX}/mo": {
            "post": {
                "operationId": "injectMo",
                "summary": "A handset sends a message: to the account owning `to`, back to the account that last "
                           "wrote to this handset from `to`, or (neither) to another handset.",
                "requestBody": {"required": True, "content": _json_content(_ref("MoRequest"))},
                "responses": {
                    "201": {"description": "Accepted and routed",
                            "content": _json_content(_ref("RoutedMessage"))},
                    "400": _BAD,
                    "413": _error("Body too large"),
                },
            },
        },
        f"{API_PREFIX}/messages": {
            "get": {
                "operationId": "listMessages",
                "summary": "Messages in the store, newest first.",
                "parameters": [
                    _param("to", "query", "Destination address, exactly"),
                    _param("from", "query", "Source address, exactly"),
                    _param("system_id", "query", "The account (\"\" for handset-to-handset)"),
                    _param("status", "query", "State: long name or receipt word (DELIVERED, DELIVRD), any case"),
                    _param("direction", "query", "mt or mo", {"type": "string", "enum": ["mt", "mo"]}),
                    _param("since", "query", "Submitted at or after: Unix seconds or ISO-8601"),
                    _param("until", "query", "Submitted at or before: Unix seconds or ISO-8601"),
                    _param("limit", "query", "At most this many",
                           {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
                ],
                "responses": {
                    "200": {"description": "Matching messages", "content": _json_content(_ref("MessageList"))},
                    "400": _BAD,
                },
            },
        },
        f"{API_PREFIX}/messages/{{id}}": {
            "get": {
                "operationId": "getMessage",
                "summary": "One message with its history.",
                "parameters": [_param("id", "path", "Message id")],
                "responses": {
                    "200": {"description": "The message", "content": _json_content(_ref("MessageWithHistory"))},
                    "404": _MISSING,
                },
            },
        },
        f"{API_PREFIX}/binds": {
            "get": {
                "operationId": "listBinds",
                "summary": "Bound SMPP sessions.",
                "responses": {"200": {"description": "Binds", "content": _json_content(_ref("BindList"))}},
            },
        },
        f"{API_PREFIX}/binds/{{id}}": {
            "delete": {
                "operationId": "kickBind",
                "summary": "End one bind: unbind (we send unbind, then close; dropped if not answered within "
                           f"{UNBIND_GRACE:g}s) or drop (abort the TCP connection).",
                "parameters": [
                    _param("id", "path", "Bind id, as listed"),
                    _param("mode", "query", "unbind (default) or drop",
                           {"type": "string", "enum": ["unbind", "drop"], "default": "unbind"}),
                ],
                "responses": {"204": {"description": "The connection is closed"}, "400": _BAD, "404": _MISSING},
            },
        },
        f"{API_PREFIX}/handsets/{{number}}/messages": {
            "get": {
                "operationId": "handsetInbox",
                "summary": "A virtual handset's inbox (newest last) and the senders it opted out of.",
                "parameters": [_param("number", "path", "Handset number")],
                "responses": {"200": {"description": "The inbox", "content": _json_content(_ref("Inbox"))}},
            },
        },
        f"{API_PREFIX}/handsets/{{number}}/reply": {
            "post": {
                "operationId": "handsetReply",
                "summary": "The handset sends a message, by default to the sender of its newest inbox message.",
                "parameters": [_param("number", "path", "Handset number", _ADDRESS_SCHEMA)],
                "requestBody": {"required": True, "content": _json_content(_ref("ReplyRequest"))},
                "responses": {
                    "201": {"description": "Accepted and routed", "content": _json_content(_ref("RoutedMessage"))},
                    "400": _BAD,
                    "413": _error("Body too large"),
                },
            },
        },
        f"{API_PREFIX}/reset": {
            "post": {
                "operationId": "reset",
                "summary": "Forget every message, held delivery, opt-out, inbox and counter (binds stay up).",
                "responses": {"204": {"description": "Reset"}},
            },
        },
        "/healthz": {
            "get": {
                "operationId": "health",
                "summary": "Liveness with a few figures.",
                "responses": {"200": {"description": "Alive", "content": _json_content(_ref("Health"))}},
            },
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus text exposition (version 0.0.4).",
                "responses": {"200": {"description": "Counters, gauges and histograms",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}}},
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document.",
                "responses": {"200": {"description": "OpenAPI 3.1",
                                      "content": _json_content({"type": "object"})}},
            },
        },
    },
    "components": {
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "examples": ["bad_request", "not_found", "internal"]},
                        "message": {"type": "string"},
                    },
                }},
            },
            "MoRequest": {
                "type": "object",
                "required": ["from", "to", "text"],
                "additionalProperties": False,
                "properties": {
                    "from": {**_ADDRESS_SCHEMA, "description": "The handset", "examples": ["447700900001"]},
                    "to": {**_ADDRESS_SCHEMA, "description": "A number (an account's, or another handset's)",
                           "examples": ["12345"]},
                    "text": {"type": "string"},
                    "data_coding": _DATA_CODING,
                    "system_id": {"type": ["string", "null"], "minLength": 1, "maxLength": 15,
                                  "description": "Route to this account regardless of who owns `to`"},
                },
            },
            "ReplyRequest": {
                "type": "object",
                "required": ["text"],
                "additionalProperties": False,
                "properties": {
                    "to": {**_ADDRESS_SCHEMA, "description": "Default: the sender of the newest inbox message"},
                    "text": {"type": "string"},
                    "data_coding": _DATA_CODING,
                },
            },
            "HistoryEntry": {
                "type": "object",
                "required": ["at", "event", "detail"],
                "properties": {"at": _TIME, "event": {"type": "string"}, "detail": {"type": "string"}},
            },
            "Message": {
                "type": "object",
                "required": ["id", "system_id", "channel", "direction", "from", "to", "text", "data_coding", "parts",
                             "part", "group", "state", "error", "network_error", "registered_delivery",
                             "submitted_at", "final_at", "schedule_at", "expire_at"],
                "properties": {
                    "id": {"type": "string"},
                    "system_id": {"type": "string", "description": "The account (\"\" for handset-to-handset)"},
                    "channel": {"type": "string", "examples": ["smpp", "http", "smtp", "handset"]},
                    "direction": {"type": "string", "enum": ["mt", "mo"]},
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                    "text": {"type": "string"},
                    "data_coding": {"type": "integer"},
                    "parts": {"type": "integer", "minimum": 1},
                    "part": {"type": "integer", "minimum": 1},
                    "group": {"type": ["string", "null"]},
                    "state": {"type": "string", "enum": [s.name for s in MessageState]},
                    "error": {"type": "integer"},
                    "network_error": {"type": ["array", "null"], "items": {"type": "integer"},
                                      "minItems": 2, "maxItems": 2, "description": "[type, code]"},
                    "registered_delivery": {"type": "integer"},
                    "submitted_at": _TIME,
                    "submitted_at_unix": {"type": "number", "description": "submitted_at in Unix seconds"},
                    "final_at": _TIME,
                    "schedule_at": _TIME,
                    "expire_at": _TIME,
                },
            },
            "MessageWithHistory": {
                "allOf": [_ref("Message"), {
                    "type": "object",
                    "required": ["history"],
                    "properties": {"history": {"type": "array", "items": _ref("HistoryEntry")}},
                }],
            },
            "RoutedMessage": {
                "allOf": [_ref("Message"), {
                    "type": "object",
                    "required": ["routed_to"],
                    "properties": {"routed_to": {"type": "string",
                                                 "description": "The account's system_id, or \"handset\""}},
                }],
            },
            "MessageList": {
                "type": "object",
                "required": ["messages", "count"],
                "properties": {"messages": {"type": "array", "items": _ref("Message")}, "count": {"type": "integer"}},
            },
            "Bind": {
                "type": "object",
                "required": ["id", "system_id", "bind_type", "peer", "interface_version", "connected_at",
                             "window_in_use", "deliveries_in_flight"],
                "properties": {
                    "id": {"type": "string"},
                    "system_id": {"type": "string"},
                    "bind_type": {"type": "string", "enum": ["transmitter", "receiver", "transceiver"]},
                    "peer": {"type": "string", "description": "host:port"},
                    "interface_version": {"type": "integer"},
                    "connected_at": _TIME,
                    "window_in_use": {"type": "integer"},
                    "deliveries_in_flight": {"type": "integer"},
                },
            },
            "BindList": {
                "type": "object",
                "required": ["binds"],
                "properties": {"binds": {"type": "array", "items": _ref("Bind")}},
            },
            "Inbox": {
                "type": "object",
                "required": ["number", "messages", "opted_out_of"],
                "properties": {
                    "number": {"type": "string"},
                    "messages": {"type": "array", "items": _ref("Message")},
                    "opted_out_of": {"type": "array", "items": {"type": "string"}},
                },
            },
            "Health": {
                "type": "object",
                "required": ["status", "binds", "store"],
                "properties": {"status": {"type": "string", "const": "ok"}, "binds": {"type": "integer"},
                               "store": {"type": "integer"}},
            },
        },
    },
}
