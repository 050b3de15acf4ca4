"""A scripted HTTP/1.1 server on 127.0.0.1 for client tests: it reads requests, a test's handler writes the answers."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


@dataclass
class Seen:
    """One request as the server read it, and which connection (0, 1, ...) it came on."""

    connection: int
    request_line: str
    headers: dict[str, str]
    body: bytes


# Called with the server (its `seen` already holds this request): writes an answer, returns False to close.
Handler = Callable[["Server", Seen, asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class Server:
    """Reads requests (framed by Content-Length) and lets `handler` write whatever answer a test needs."""

    handler: Handler
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    closed_by_client: int = 0
    port: int = 0
    tls: ssl.SSLContext | None = None
    _server: asyncio.Server | None = None

    async def start(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/hook") -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        try:
            for _ in range(1000):  # requests on one connection; far more than any test sends
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    self.closed_by_client += 1
                    return
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                seen = Seen(number, lines[0], headers, body)
                self.seen.append(seen)
                if not await self.handler(self, seen, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            self.closed_by_client += 1
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def answer(*replies: bytes, keep: bool = True) -> Handler:
    """Answer the n-th request with replies[n] (the last one from then on); keep=False closes after each."""

    async def handler(server: Server, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(replies[min(len(server.seen), len(replies)) - 1])
        await writer.drain()
        return keep

    return handler


def answer_when(gate: asyncio.Event) -> Handler:
    """Answer every request with OK once `gate` is set (at most 5 s): requests stay in flight until then."""

    async def handler(server: Server, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        await asyncio.wait_for(gate.wait(), 5)
        writer.write(OK)
        return True

    return handler


async def serve(handler: Handler, tls: ssl.SSLContext | None = None) -> Server:
    return await Server(handler, tls=tls).start()


def closed_port() -> int:
    """A loopback port nothing listens on (bound for a moment, then closed again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
