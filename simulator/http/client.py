"""The webhook poster's HTTP/1.1 client: keep-alive connections per origin, one request at a time on each."""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Mapping

from .http11 import (
    MAX_BODY, ConnectError, Headers, HttpError, InvalidRequest, InvalidURL, RemoteProtocolError, RequestTimeout,
    Response, ResponseParser, ServerDisconnected, Target, encode_request, parse_url,
)

__all__ = ["HttpClient", "Response", "Headers", "HttpError", "ConnectError", "RequestTimeout", "RemoteProtocolError",
           "ServerDisconnected", "InvalidRequest", "InvalidURL", "USER_AGENT"]

USER_AGENT = "carrier-sim-webhooks/1.0"


# ---------------------------------------------------------------------------- connections


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer parsed as the bytes arrive."""

    def __init__(self, client: HttpClient, origin: tuple[str, str, int]) -> None:
        self.client = client
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser: ResponseParser | None = None
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.client._live.add(self)

    def exchange(self, data: bytes, parser: ResponseParser, waiter: asyncio.Future[Response]) -> None:
        self.parser, self.waiter = parser, waiter
        if self.closed or self.transport is None or self.transport.is_closing():
            self._fail(ServerDisconnected("the connection was closed before the request went out"))
            return
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None:  # bytes while idle (e.g. a 408 before the server closes): not reusable
            self.close()
            return
        try:
            response = parser.feed(data)
        except RemoteProtocolError as error:
            self._fail(error)
            return
        if response is not None:
            self._done(response)

    def eof_received(self) -> bool:
        self._ended(None)
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.client._forget(self)
        self._ended(exc)

    def _ended(self, exc: Exception | None) -> None:
        parser = self.parser
        if parser is None:
            return
        try:
            response = parser.feed_eof()
        except RemoteProtocolError as error:
            if exc is not None:
                error = type(error)(f"{error} ({exc})")
            self._fail(error)
            return
        self._done(response)

    def _done(self, response: Response) -> None:
        parser, waiter = self.parser, self.waiter
        self.parser = self.waiter = None
        if parser is not None and (not parser.keep_alive or parser.trailing):
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def _fail(self, error: Exception) -> None:
        waiter = self.waiter
        self.parser = self.waiter = None
        self.abort()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    @property
    def reusable(self) -> bool:
        return not self.closed and self.parser is None and self.transport is not None \
            and not self.transport.is_closing()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


def _expire(waiter: asyncio.Future[Response], timeout: float) -> None:
    if not waiter.done():
        waiter.set_exception(RequestTimeout(f"no complete answer within {timeout:g}s"))


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """Certificates verified against the system's trust store; built once (each build costs tens of ms)."""
    return ssl.create_default_context()


class HttpClient:
    """Sends one request per call over a shared pool of keep-alive connections; never pipelines.

    No proxies, no redirects, no cookies, no content decoding. A kept-alive connection the server
    closed before answering is retried once on a fresh connection; every other failure raises.
    `timeout` bounds each request as a whole, connecting included.
    """

    def __init__(self, *, timeout: float = 5.0, ssl_context: ssl.SSLContext | None = None,
                 user_agent: str = USER_AGENT, max_idle: int = 64, keepalive_expiry: float = 5.0,
                 max_body: int = MAX_BODY) -> None:
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.user_agent = user_agent
        self.max_idle = max_idle
        self.keepalive_expiry = keepalive_expiry
        self.max_body = max_body
        self.connects = 0  # connections opened, for tests and the curious
        # Idle connections per origin, newest last; and all of them oldest first, to evict across origins.
        self._idle: dict[tuple[str, str, int], dict[_Connection, None]] = {}
        self._idle_order: dict[_Connection, None] = {}
        self._live: set[_Connection] = set()
        # Bound on first use. On Python 3.11 asyncio.get_running_loop() makes a getpid() system call,
        # which cost a tenth of the client's time when it ran for every request.
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def idle_connections(self) -> int:
        return len(self._idle_order)

    async def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> Response:
        return await self.request("GET", url, headers=headers)

    async def request(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                      content: bytes | None = None) -> Response:
        target = parse_url(url)
        data = encode_request(method, target, headers, content or b"", self.user_agent)
        loop = self._loop or self._bind_loop()
        now = loop.time()
        deadline = now + self.timeout
        conn = self._checkout(target.origin, now)
        if conn is not None:
            try:
                return await self._exchange(loop, conn, data, method, deadline)
            except ServerDisconnected:
                pass  # a stale keep-alive connection: the server had closed it; once more on a fresh one
        conn = await self._connect(loop, target, deadline)
        return await self._exchange(loop, conn, data, method, deadline)

    async def aclose(self) -> None:
        """Close every connection, idle or busy (a request in flight then fails); the client stays usable."""
        for conn in list(self._live):
            conn.abort()
        self._live.clear()
        self._idle.clear()
        self._idle_order.clear()
        self._loop = None

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        # Connections belong to one loop, so the client does too (until aclose()).
        self._loop = asyncio.get_running_loop()
        return self._loop

    async def _exchange(self, loop: asyncio.AbstractEventLoop, conn: _Connection, data: bytes, method: str,
                        deadline: float) -> Response:
        waiter: asyncio.Future[Response] = loop.create_future()
        timer = loop.call_at(deadline, _expire, waiter, self.timeout)
        conn.exchange(data, ResponseParser(method, self.max_body), waiter)
        try:
            response = await waiter
        except BaseException:  # timeout, cancellation, bad answer: the connection's state is unknown
            conn.abort()
            raise
        finally:
            timer.cancel()
        if conn.reusable:
            self._release(conn, loop.time())
        return response

    async def _connect(self, loop: asyncio.AbstractEventLoop, target: Target, deadline: float) -> _Connection:
        context = (self.ssl_context or default_ssl_context()) if target.tls else None
        try:
            async with asyncio.timeout_at(deadline):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self, target.origin), target.host, target.port, ssl=context,
                    server_hostname=target.host if context is not None else None)
        except TimeoutError:  # also the OS's own connect timeout
            raise RequestTimeout(f"no connection to {target.host_header} within {self.timeout:g}s") from None
        except ssl.SSLError as error:
            raise ConnectError(f"TLS with {target.host_header} failed: {error}") from None
        except OSError as error:
            raise ConnectError(f"{target.host_header}: {error.strerror or error}") from None
        self.connects += 1
        return conn

    def _checkout(self, origin: tuple[str, str, int], now: float) -> _Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        while idle:  # pops one each turn
            conn, _ = idle.popitem()
            self._idle_order.pop(conn, None)
            if now - conn.idle_since > self.keepalive_expiry:
                # The newest has expired, so have the older ones: close them all.
                conn.close()
                for older in idle:
                    self._idle_order.pop(older, None)
                    older.close()
                idle.clear()
                break
            if conn.reusable:
                return conn
        del self._idle[origin]
        return None

    def _release(self, conn: _Connection, now: float) -> None:
        if self.max_idle <= 0:
            conn.close()
            return
        if len(self._idle_order) >= self.max_idle:
            oldest = next(iter(self._idle_order))
            self._forget(oldest)
            oldest.close()
        conn.idle_since = now
        self._idle.setdefault(conn.origin, {})[conn] = None
        self._idle_order[conn] = None

    def _forget(self, conn: _Connection) -> None:
        self._live.discard(conn)
        if conn not in self._idle_order:
            return
        del self._idle_order[conn]
        idle = self._idle.get(conn.origin)
        if idle is not None:
            idle.pop(conn, None)
            if not idle:
                del self._idle[conn.origin]
