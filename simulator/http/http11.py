"""HTTP/1.1 on the wire for the webhook client: URLs split, requests encoded, answers parsed into a Response."""

from __future__ import annotations

import base64
import codecs
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import quote, unquote, urlsplit

__all__ = ["Response", "Headers", "ResponseParser", "Target", "parse_url", "encode_request", "HttpError",
           "ConnectError", "RequestTimeout", "RemoteProtocolError", "ServerDisconnected", "InvalidRequest",
           "InvalidURL", "MAX_BODY"]

MAX_HEAD = 64 * 1024  # status line and headers; a receiver sending more is broken or hostile
MAX_BODY = 16 * 1024 * 1024  # webhook answers are small (a TwiML reply at most); this only guards memory
MAX_INTERIM = 16  # 1xx answers tolerated before the real one

# Headers the client writes itself: it frames every request and decides about keep-alive on its own, so a
# caller's value could only desynchronise the connection.
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
# Methods whose empty body is still announced with Content-Length: 0, as httpx and curl do.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# Left as they are in a request-target; anything else (spaces, non-ASCII) is percent-encoded.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


# ---------------------------------------------------------------------------- errors


class HttpError(Exception):
    """The request got no usable answer (worth retrying later)."""


class ConnectError(HttpError):
    """No connection: refused, unreachable, unresolvable, or the TLS handshake failed."""


class RequestTimeout(HttpError):
    """No complete answer within the client's timeout (connecting included)."""


class RemoteProtocolError(HttpError):
    """The answer was not valid HTTP/1.1, or the connection ended in the middle of it."""


class ServerDisconnected(RemoteProtocolError):
    """The server closed the connection before sending a byte of the answer."""


class InvalidRequest(ValueError):
    """The request cannot be sent as given (retrying will not help)."""


class InvalidURL(InvalidRequest):
    """Not an absolute http(s) URL this client can send to."""


# ---------------------------------------------------------------------------- the response


class Headers(Mapping[str, str]):
    """Response headers in arrival order; lookups ignore case, repeated fields read as one, joined by ', '."""

    __slots__ = ("raw", "_folded")

    def __init__(self, raw: list[tuple[str, str]] | None = None) -> None:
        self.raw: list[tuple[str, str]] = raw if raw is not None else []
        self._folded: dict[str, str] | None = None

    def _index(self) -> dict[str, str]:
        # Built on first lookup: the poster reads only the status of most answers.
        if self._folded is None:
            folded: dict[str, str] = {}
            for name, value in self.raw:
                key = name.lower()
                folded[key] = f"{folded[key]}, {value}" if key in folded else value
            self._folded = folded
        return self._folded

    def __getitem__(self, name: str) -> str:
        return self._index()[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index())

    def __len__(self) -> int:
        return len(self._index())

    def get_list(self, name: str) -> list[str]:
        """Every value of a repeated field (e.g. Set-Cookie), in order."""
        key = name.lower()
        return [value for field_name, value in self.raw if field_name.lower() == key]

    def __repr__(self) -> str:
        return f"Headers({self.raw!r})"


@dataclass(slots=True)  # not frozen: a frozen dataclass pays object.__setattr__ per field, on every answer
class Response:
    """One complete answer; `text` decodes `content` with the Content-Type's charset (UTF-8 by default)."""

    status_code: int
    headers: Headers
    content: bytes
    reason_phrase: str = ""
    http_version: str = "HTTP/1.1"

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def encoding(self) -> str:
        content_type = self.headers.get("content-type", "")
        for parameter in content_type.split(";")[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "charset":
                charset = value.strip().strip('"').strip("'")
                try:
                    return codecs.lookup(charset).name
                except LookupError:
                    break  # an unknown charset: fall back, as browsers and httpx do
        return "utf-8"

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding, errors="replace")


# ---------------------------------------------------------------------------- parsing an answer

# Header names already checked, with their lower-case form: the same few names come and go over and over.
_NAME_KEYS: dict[str, str] = {}
_NAME_KEYS_MAX = 512
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})


def _checked_name(name: str) -> str | None:
    """The name in lower case, or None if it is not a valid header name."""
    key = _NAME_KEYS.get(name)
    if key is None:
        if not name or not _TOKEN.issuperset(name):
            return None
        key = name.lower()
        if len(_NAME_KEYS) < _NAME_KEYS_MAX:
            _NAME_KEYS[name] = key
    return key


_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)


class ResponseParser:
    """Turns the bytes of one answer into a Response: feed() them as they arrive, feed_eof() when the peer closes.

    The body is framed as RFC 9112 section 6.3 says: none for HEAD, 1xx, 204 and 304; chunked when
    Transfer-Encoding ends in chunked; else Content-Length; else everything up to the close.
    """

    __slots__ = ("head_only", "max_body", "started", "keep_alive", "trailing", "_buffer", "_state", "_remaining",
                 "_parts", "_size", "_status", "_reason", "_version", "_headers", "_interim")

    def __init__(self, method: str = "GET", max_body: int = MAX_BODY) -> None:
        self.head_only = method == "HEAD"
        self.max_body = max_body
        self.started = False  # any byte of the answer seen (a reused connection that closes before is stale)
        self.keep_alive = False  # known once complete: may the connection carry another request
        self.trailing = False  # bytes after the answer: the server broke the one-at-a-time exchange
        self._buffer = bytearray()
        self._state = _HEAD
        self._remaining = 0
        self._parts: list[bytes] = []
        self._size = 0
        self._status = 0
        self._reason = ""
        self._version = ""
        self._headers: list[tuple[str, str]] = []
        self._interim = 0

    def feed(self, data: bytes) -> Response | None:
        """The complete Response once its last byte has arrived, else None."""
        if data:
            self.started = True
        state = self._state
        if state == _DONE:
            self.trailing = self.trailing or bool(data)
            return None
        if state == _HEAD and not self._buffer:
            # The usual case: the whole head, often the whole answer, in one read; parsed without copying
            # it through the buffer.
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                self._parse_head(data[:end])
                start = end + 4
                if self._state == _LENGTH and len(data) - start >= self._remaining:
                    stop = start + self._remaining
                    self._parts.append(data[start:stop])
                    self.trailing = len(data) > stop
                    return self._finish()
                data = data[start:]
        self._buffer += data
        return self._advance()

    def feed_eof(self) -> Response:
        """The peer closed: the answer if it was delimited by the close; otherwise an error."""
        if self._state == _UNTIL_CLOSE:
            self._parts.append(bytes(self._buffer))
            self._buffer.clear()
            self.keep_alive = False
            return self._finish()
        if not self.started:
            raise ServerDisconnected("the server closed the connection without answering")
        raise RemoteProtocolError("the server closed the connection in the middle of its answer")

    # Each step consumes bytes from the buffer or returns for more, so these loops end with the input.
    def _advance(self) -> Response | None:
        buffer = self._buffer
        while True:
            state = self._state
            if state == _HEAD:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEAD:
                        raise RemoteProtocolError(f"answer head longer than {MAX_HEAD} bytes")
                    return None
                head = bytes(buffer[:end])
                del buffer[:end + 4]
                self._parse_head(head)
            elif state == _LENGTH or state == _CHUNK_DATA:
                if len(buffer) < self._remaining:
                    return None
                self._parts.append(bytes(buffer[:self._remaining]))
                del buffer[:self._remaining]
                self._state = _DONE if state == _LENGTH else _CHUNK_END
            elif state == _CHUNK_SIZE:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > 1024:
                        raise RemoteProtocolError("chunk size line too long")
                    return None
                self._start_chunk(bytes(buffer[:end]))
                del buffer[:end + 2]
            elif state == _CHUNK_END:
                if len(buffer) < 2:
                    return None
                if buffer[:2] != b"\r\n":
                    raise RemoteProtocolError("chunk data not followed by CRLF")
                del buffer[:2]
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEAD:
                        raise RemoteProtocolError(f"trailers longer than {MAX_HEAD} bytes")
                    return None
                del buffer[:end + 2]
                if end == 0:  # the empty line that ends the trailers (their fields are not kept)
                    self._state = _DONE
            elif state == _UNTIL_CLOSE:
                self._size += len(buffer)
                if self._size > self.max_body:
                    raise RemoteProtocolError(f"answer body larger than {self.max_body} bytes")
                self._parts.append(bytes(buffer))
                buffer.clear()
                return None
            else:  # _DONE
                self.trailing = bool(buffer)
                return self._finish()

    def _parse_head(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise RemoteProtocolError(f"not an HTTP/1.x status line: {lines[0][:100]!r}")
        status = int(code)
        headers: list[tuple[str, str]] = []
        # The fields that frame the body, picked out on the way (other fields are only stored).
        lengths: list[str] = []
        codings: list[str] = []
        connection: list[str] = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t"):  # obsolete line folding: a continuation of the previous field
                if not headers:
                    raise RemoteProtocolError("answer head starts with a continuation line")
                name, value = headers.pop()
                headers.append((name, f"{value} {line.strip()}"))
                if _checked_name(name) in _FRAMING:
                    raise RemoteProtocolError(f"folded {name} header")
                continue
            name, colon, value = line.partition(":")
            key = _checked_name(name) if colon else None
            if key is None:
                raise RemoteProtocolError(f"malformed header line: {line[:100]!r}")
            value = value.strip(" \t")
            headers.append((name, value))
            if key in _FRAMING:
                if "," not in value:  # one value, as nearly always
                    if key == "content-length":
                        lengths.append(value)
                    elif value:
                        (codings if key == "transfer-encoding" else connection).append(value.lower())
                elif key == "content-length":
                    lengths.extend(part.strip() for part in value.split(","))
                else:
                    values = codings if key == "transfer-encoding" else connection
                    values.extend(part.strip().lower() for part in value.split(",") if part.strip())
        if 100 <= status < 200:
            if status == 101:
                raise RemoteProtocolError("the server switched protocols unasked")
            self._interim += 1
            if self._interim > MAX_INTERIM:
                raise RemoteProtocolError(f"more than {MAX_INTERIM} interim (1xx) answers")
            return  # an interim answer: the real one follows, still in state _HEAD
        self._status, self._reason, self._version, self._headers = status, reason, version, headers
        self._frame(status, version, lengths, codings, connection)

    def _frame(self, status: int, version: str, lengths: list[str], codings: list[str], connection: list[str]) -> None:
        if version == "HTTP/1.1":
            self.keep_alive = "close" not in connection
        else:  # HTTP/1.0 keeps a connection only when asked to
            self.keep_alive = "keep-alive" in connection
        if self.head_only or status in (204, 304):
            self._state = _DONE
            return
        if codings:
            # Transfer-Encoding overrides Content-Length, and a response with both must not be reused.
            if lengths:
                self.keep_alive = False
            if codings[-1] == "chunked":
                self._state = _CHUNK_SIZE
            else:
                self._state, self.keep_alive = _UNTIL_CLOSE, False
            return
        if lengths:
            if len(set(lengths)) != 1 or not lengths[0].isdigit():
                raise RemoteProtocolError(f"invalid Content-Length: {', '.join(lengths)[:100]!r}")
            length = int(lengths[0])
            if length > self.max_body:
                raise RemoteProtocolError(f"answer body larger than {self.max_body} bytes")
            self._state, self._remaining = _LENGTH, length
            return
        self._state, self.keep_alive = _UNTIL_CLOSE, False

    def _start_chunk(self, line: bytes) -> None:
        text = line.split(b";", 1)[0].strip()
        try:
            if not text or len(text) > 16:
                raise ValueError
            size = int(text, 16)
        except ValueError:
            raise RemoteProtocolError(f"invalid chunk size line: {line[:100]!r}") from None
        if size == 0:
            self._state = _TRAILERS
            return
        self._size += size
        if self._size > self.max_body:
            raise RemoteProtocolError(f"answer body larger than {self.max_body} bytes")
        self._state, self._remaining = _CHUNK_DATA, size

    def _finish(self) -> Response:
        self._state = _DONE
        parts = self._parts
        content = parts[0] if len(parts) == 1 else b"".join(parts)
        return Response(self._status, Headers(self._headers), content, self._reason, self._version)


# ---------------------------------------------------------------------------- URLs and requests


class Target(NamedTuple):
    """Where a URL points: the pool key, the address to connect to, and what goes in the request line."""

    origin: tuple[str, str, int]  # (scheme, host, port): connections are shared per origin
    host: str  # to connect to (and to check the certificate against)
    port: int
    tls: bool
    host_header: str
    path: str  # the request-target: path and query, percent-encoded where needed
    authorization: str  # "Basic ..." from user:password in the URL, or ""


@functools.lru_cache(maxsize=1024)  # a handful of callback URLs are posted to over and over
def parse_url(url: str) -> Target:
    """Split an absolute http(s) URL; InvalidURL for anything else (like httpx, no control characters)."""
    # Spaces in the path or query are percent-encoded below; control characters are refused outright
    # (urlsplit would silently drop tabs and newlines).
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        raise InvalidURL(f"control character in URL {url[:100]!r}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidURL(f"{error}: {url[:100]!r}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidURL(f"not an http(s) URL: {url[:100]!r}")
    host = parts.hostname or ""
    if not host:
        raise InvalidURL(f"no host in URL {url[:100]!r}")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidURL(f"invalid host name in URL {url[:100]!r}") from None
    if any(char in host for char in " /\\@?#"):
        raise InvalidURL(f"invalid host name in URL {url[:100]!r}")
    tls = scheme == "https"
    default_port = 443 if tls else 80
    port = port if port is not None else default_port
    shown = f"[{host}]" if ":" in host else host  # an IPv6 literal
    host_header = shown if port == default_port else f"{shown}:{port}"
    path = quote(parts.path, safe=_PATH_SAFE) or "/"
    if parts.query:
        path = f"{path}?{quote(parts.query, safe=_QUERY_SAFE)}"
    authorization = ""
    if parts.username is not None or parts.password is not None:
        # Credentials in the URL become Basic auth, as httpx did (Twilio documents user:pass@ callback URLs).
        credentials = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode("utf-8")
        authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
    return Target((scheme, host, port), host, port, tls, host_header, path, authorization)


def encode_request(method: str, target: Target, headers: Mapping[str, str] | None, content: bytes,
                   user_agent: str) -> bytes:
    """The request's bytes: request line, the caller's headers plus Host, User-Agent, Content-Length, Connection."""
    if method not in _BODY_METHODS and method != "GET" and (not method or not _TOKEN.issuperset(method)):
        raise InvalidRequest(f"invalid method {method[:20]!r}")
    lines = [f"{method} {target.path} HTTP/1.1\r\nHost: {target.host_header}\r\n"]
    agent, authorization, accept = user_agent, target.authorization, "*/*"
    if headers:
        for name, value in headers.items():
            key = _checked_name(name)
            if key is None:
                raise InvalidRequest(f"invalid header name {name[:40]!r}")
            # isprintable() is False for CR, LF and NUL, which would forge headers; a tab is allowed.
            if not value.isprintable() and not value.replace("\t", " ").isprintable():
                raise InvalidRequest(f"invalid character in header {name}")
            if key in _OWN_HEADERS:
                continue
            if key == "user-agent":  # the caller's wins over the client's default, as with httpx
                agent = value
            elif key == "authorization":  # explicit credentials win over those in the URL
                authorization = value
            elif key == "accept":
                accept = value
            else:
                lines.append(f"{name}: {value}\r\n")
    lines.append(f"User-Agent: {agent}\r\nAccept: {accept}\r\n")
    if authorization:
        lines.append(f"Authorization: {authorization}\r\n")
    if content or method in _BODY_METHODS:
        lines.append(f"Content-Length: {len(content)}\r\n")
    lines.append("Connection: keep-alive\r\n\r\n")
    try:
        head = "".join(lines).encode("ascii")
    except UnicodeEncodeError as error:  # httpx refused non-ASCII header values too
        raise InvalidRequest(f"non-ASCII character in a header: {error.object[error.start:error.end]!r}") from None
    return head + content if content else head
