"""The webhook HTTP client against scripted asyncio servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import ssl
import time

import pytest
import pytest_asyncio

from simulator.http.client import (
    USER_AGENT, ConnectError, HttpClient, InvalidRequest, InvalidURL, RemoteProtocolError, RequestTimeout,
    ServerDisconnected,
)

from .scripted import OK, Seen, Server, answer, answer_when, closed_port, serve


@pytest_asyncio.fixture
async def client():
    http = HttpClient(timeout=2.0)
    yield http
    await http.aclose()


# ---------------------------------------------------------------------------- framing and keep-alive


@pytest.mark.asyncio
async def test_content_length_answers_reuse_one_connection(client: HttpClient) -> None:
    server = await serve(answer(OK, b"HTTP/1.1 201 Created\r\ncontent-length: 5\r\nX-Thing: a\r\nx-thing: b\r\n\r\nhello"))
    first = await client.request("POST", server.url(), content=b"a=1")
    second = await client.request("POST", server.url(), content=b"a=2")
    assert (first.status_code, first.content, first.text, first.reason_phrase) == (200, b"ok", "ok", "OK")
    assert second.status_code == 201 and second.content == b"hello"
    assert second.headers["X-THING"] == "a, b" and second.headers.get_list("x-thing") == ["a", "b"]
    assert second.headers.get("Content-Length") == "5" and "x-thing" in second.headers
    assert server.connections == 1 and client.connects == 1
    assert [s.body for s in server.seen] == [b"a=1", b"a=2"]
    await server.stop()


@pytest.mark.asyncio
async def test_the_request_carries_host_agent_length_and_keep_alive(client: HttpClient) -> None:
    server = await serve(answer(OK))
    await client.request("POST", server.url("/a b/é?x=1 2&y=ü"), content=b"body",
                         headers={"Content-Type": "application/x-www-form-urlencoded", "X-Sig": "abc",
                                  "Content-Length": "999", "Connection": "close", "Host": "evil"})
    await client.request("GET", server.url("/get"))
    await client.request("POST", server.url("/empty"), headers={"user-agent": "TwilioProxy/1.1"})
    post, get, empty = server.seen
    assert post.request_line == "POST /a%20b/%C3%A9?x=1%202&y=%C3%BC HTTP/1.1"
    assert post.headers["host"] == f"127.0.0.1:{server.port}"
    assert post.headers["user-agent"] == USER_AGENT == "carrier-sim-webhooks/1.0"
    assert post.headers["content-length"] == "4" and post.headers["connection"] == "keep-alive"
    assert post.headers["content-type"] == "application/x-www-form-urlencoded" and post.headers["x-sig"] == "abc"
    assert get.request_line == "GET /get HTTP/1.1" and "content-length" not in get.headers
    assert empty.headers["content-length"] == "0" and empty.headers["user-agent"] == "TwilioProxy/1.1"
    assert server.connections == 1  # the caller's "Connection: close" did not leak into the request
    await server.stop()


@pytest.mark.asyncio
async def test_credentials_in_the_url_become_basic_auth(client: HttpClient) -> None:
    server = await serve(answer(OK))
    await client.request("POST", f"http://us%40er:p%3Ass@127.0.0.1:{server.port}/cb", content=b"x")
    await client.request("POST", f"http://user:pass@127.0.0.1:{server.port}/cb", content=b"x",
                         headers={"Authorization": "Bearer explicit"})
    assert server.seen[0].headers["authorization"] == "Basic " + base64.b64encode(b"us@er:p:ss").decode()
    assert server.seen[1].headers["authorization"] == "Bearer explicit"
    assert server.seen[0].headers["host"] == f"127.0.0.1:{server.port}"
    await server.stop()


CHUNKED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/xml; charset=utf-8\r\n\r\n"
           b"5;ext=1\r\n<Resp\r\nA\r\nonse>r\xc3\xa9</\r\n0009\r\nResponse>\r\n0\r\nX-Trailer: t\r\n\r\n")


@pytest.mark.asyncio
async def test_chunked_answers_with_extensions_and_trailers_keep_the_connection(client: HttpClient) -> None:
    server = await serve(answer(CHUNKED, OK))
    response = await client.request("POST", server.url(), content=b"x")
    assert response.content == "<Response>ré</Response>".encode() and response.text == "<Response>ré</Response>"
    assert (await client.request("POST", server.url(), content=b"x")).content == b"ok"
    assert server.connections == 1
    await server.stop()


@pytest.mark.asyncio
async def test_an_answer_arriving_in_small_pieces_is_put_together(client: HttpClient) -> None:
    pieces = [CHUNKED[:7], CHUNKED[7:40], CHUNKED[40:90], CHUNKED[90:91], CHUNKED[91:]]

    async def trickle(server: Server, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.01)  # separate segments, separate reads
        return True

    server = await serve(trickle)
    response = await client.request("POST", server.url(), content=b"x")
    assert response.text == "<Response>ré</Response>"
    await server.stop()


@pytest.mark.asyncio
async def test_a_body_delimited_by_the_close_is_read_to_the_end_and_the_connection_dropped(client: HttpClient) -> None:
    server = await serve(answer(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", keep=False))
    first = await client.request("POST", server.url(), content=b"x")
    second = await client.request("POST", server.url(), content=b"x")
    assert first.content == second.content == b"until the end"
    assert server.connections == 2 and client.idle_connections == 0
    await server.stop()


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
])
@pytest.mark.asyncio
async def test_connection_close_and_http_1_0_are_not_reused(client: HttpClient, reply: bytes) -> None:
    # The server keeps its side open: only the client's own decision makes the second connection.
    server = await serve(answer(reply))
    for _ in range(2):
        assert (await client.request("POST", server.url(), content=b"x")).content == b"ok"
    assert server.connections == 2
    await server.stop()


@pytest.mark.asyncio
async def test_http_1_0_keep_alive_is_honoured(client: HttpClient) -> None:
    server = await serve(answer(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"))
    for _ in range(2):
        assert (await client.request("POST", server.url(), content=b"x")).content == b"ok"
    assert server.connections == 1
    await server.stop()


@pytest.mark.asyncio
async def test_no_body_for_head_204_304_and_interim_answers_are_skipped(client: HttpClient) -> None:
    server = await serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",  # HEAD: no body follows
                                b"HTTP/1.1 204 No Content\r\n\r\n",
                                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
                                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nA: b\r\n\r\n" + OK))
    assert (await client.request("HEAD", server.url())).content == b""
    assert (await client.request("POST", server.url(), content=b"x")).status_code == 204
    assert (await client.request("GET", server.url())).status_code == 304
    response = await client.request("POST", server.url(), content=b"x")
    assert (response.status_code, response.content) == (200, b"ok")
    assert server.connections == 1
    await server.stop()


@pytest.mark.asyncio
async def test_non_2xx_answers_are_returned_not_raised(client: HttpClient) -> None:
    server = await serve(answer(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy",
                                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
    busy = await client.request("POST", server.url(), content=b"x")
    missing = await client.request("POST", server.url(), content=b"x")
    assert (busy.status_code, busy.content, busy.is_success) == (503, b"busy", False)
    assert missing.status_code == 404 and server.connections == 1
    await server.stop()


@pytest.mark.asyncio
async def test_text_uses_the_declared_charset(client: HttpClient) -> None:
    server = await serve(answer(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n"
                                b"Content-Length: 4\r\n\r\ncaf\xe9",
                                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=nonsense\r\n"
                                b"Content-Length: 2\r\n\r\n\xc3\xa9"))
    assert (await client.request("GET", server.url())).text == "café"
    assert (await client.request("GET", server.url())).text == "é"  # unknown charset: UTF-8
    await server.stop()


# ---------------------------------------------------------------------------- stale and broken connections


@pytest.mark.asyncio
async def test_a_kept_connection_closed_by_the_server_is_retried_once_on_a_fresh_one(client: HttpClient) -> None:
    async def close_the_second_request_unanswered(server: Server, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.connection == 0 and len(server.seen) == 2:
            return False  # as if the server's idle timeout struck just as the request went out
        writer.write(OK)
        return True

    server = await serve(close_the_second_request_unanswered)
    assert (await client.request("POST", server.url(), content=b"one")).content == b"ok"
    assert (await client.request("POST", server.url(), content=b"two")).content == b"ok"
    assert [(s.connection, s.body) for s in server.seen] == [(0, b"one"), (0, b"two"), (1, b"two")]
    assert client.connects == 2
    await server.stop()


@pytest.mark.asyncio
async def test_the_retry_happens_once_and_a_fresh_connection_closed_unanswered_fails(client: HttpClient) -> None:
    async def close_after_the_first(server: Server, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if len(server.seen) == 1:
            writer.write(OK)
            return True
        return False  # every later request: the connection closes without a byte of answer

    server = await serve(close_after_the_first)
    await client.request("POST", server.url(), content=b"x")
    with pytest.raises(ServerDisconnected):
        await client.request("POST", server.url(), content=b"x")
    assert len(server.seen) == 3  # on the kept connection, then once more on a fresh one; no more
    with pytest.raises(ServerDisconnected):  # a fresh connection is never retried
        await client.request("POST", server.url(), content=b"x")
    assert len(server.seen) == 4
    await server.stop()


@pytest.mark.asyncio
async def test_an_idle_connection_the_server_closed_is_not_used_again(client: HttpClient) -> None:
    server = await serve(answer(OK, keep=False))  # closes after answering, though the answer allows keep-alive
    await client.request("POST", server.url(), content=b"x")
    await asyncio.sleep(0.05)  # the close reaches the client while the connection is idle
    assert client.idle_connections == 0
    await client.request("POST", server.url(), content=b"x")
    assert [s.connection for s in server.seen] == [0, 1]  # no request was lost on the closed one
    await server.stop()


@pytest.mark.asyncio
async def test_a_close_in_the_middle_of_the_answer_is_an_error_and_not_retried(client: HttpClient) -> None:
    server = await serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", keep=False))
    with pytest.raises(RemoteProtocolError, match="middle") as raised:
        await client.request("POST", server.url(), content=b"x")
    assert not isinstance(raised.value, ServerDisconnected)
    assert len(server.seen) == 1
    await server.stop()


@pytest.mark.parametrize("reply, message", [
    (b"HTTP/2 200\r\n\r\n", "status line"),
    (b"ICY 200 OK\r\n\r\n", "status line"),
    (b"HTTP/1.1 2000 OK\r\n\r\n", "status line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "header line"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX", "CRLF"),
    (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "switched"),
])
@pytest.mark.asyncio
async def test_malformed_answers_raise_and_drop_the_connection(client: HttpClient, reply: bytes, message: str) -> None:
    server = await serve(answer(reply, OK))
    with pytest.raises(RemoteProtocolError, match=message):
        await client.request("POST", server.url(), content=b"x")
    assert (await client.request("POST", server.url(), content=b"x")).content == b"ok"
    assert server.connections == 2
    await server.stop()


@pytest.mark.asyncio
async def test_bytes_after_the_answer_make_the_connection_unusable(client: HttpClient) -> None:
    server = await serve(answer(OK + b"HTTP/1.1 200 OK\r\n", OK))
    assert (await client.request("POST", server.url(), content=b"x")).content == b"ok"
    assert (await client.request("POST", server.url(), content=b"x")).content == b"ok"
    assert server.connections == 2
    await server.stop()


# ---------------------------------------------------------------------------- timeouts, refusals, bad input


@pytest.mark.asyncio
async def test_no_answer_times_out_and_the_connection_is_dropped() -> None:
    never = asyncio.Event()

    async def stall(server: Server, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if len(server.seen) == 2:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\npart")  # then nothing
        await asyncio.wait_for(never.wait(), 5)
        return False

    server = await serve(stall)
    client = HttpClient(timeout=0.2)
    for _ in range(2):  # silence, then half an answer
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            await client.request("POST", server.url(), content=b"x")
        assert 0.15 < time.monotonic() - started < 1.0
    await asyncio.sleep(0.05)
    assert server.connections == 2 and client.idle_connections == 0
    never.set()
    await client.aclose()
    await server.stop()


@pytest.mark.asyncio
async def test_a_refused_connection_is_a_connect_error(client: HttpClient) -> None:
    port = closed_port()
    with pytest.raises(ConnectError):
        await client.request("POST", f"http://127.0.0.1:{port}/", content=b"x")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "http:///nohost", "/relative", "http://127.0.0.1:99999/",
                                 "http://127.0.0.1/a\r\nX-Evil: 1", "http://127.0.0.1/\x00", "mailto:a@b"])
@pytest.mark.asyncio
async def test_urls_that_cannot_be_sent_are_invalid(client: HttpClient, url: str) -> None:
    with pytest.raises(InvalidURL):
        await client.request("POST", url, content=b"x")


@pytest.mark.parametrize("headers", [{"X-A": "1\r\nX-Injected: 2"}, {"X A": "1"}, {"X-A": "\x00"}, {"X-A": "é"},
                                     {"": "x"}])
@pytest.mark.asyncio
async def test_headers_that_would_break_the_request_are_refused(client: HttpClient, headers: dict[str, str]) -> None:
    with pytest.raises(InvalidRequest):
        await client.request("POST", "http://127.0.0.1:9/", headers=headers, content=b"x")


# ---------------------------------------------------------------------------- the pool


@pytest.mark.asyncio
async def test_concurrent_requests_use_separate_connections_and_idle_ones_are_capped() -> None:
    gate = asyncio.Event()
    server = await serve(answer_when(gate))
    client = HttpClient(timeout=5, max_idle=2)
    requests = [asyncio.create_task(client.request("POST", server.url(), content=b"x")) for _ in range(4)]
    for _ in range(100):
        if len(server.seen) == 4:
            break
        await asyncio.sleep(0.01)
    assert server.connections == 4  # one request at a time per connection: never pipelined
    gate.set()
    assert all(r.content == b"ok" for r in await asyncio.gather(*requests))
    assert client.idle_connections == 2
    await client.aclose()
    await server.stop()


@pytest.mark.asyncio
async def test_idle_connections_expire(client: HttpClient) -> None:
    server = await serve(answer(OK))
    client.keepalive_expiry = 0.05
    await client.request("POST", server.url(), content=b"x")
    await asyncio.sleep(0.1)
    await client.request("POST", server.url(), content=b"x")
    assert server.connections == 2
    await server.stop()


@pytest.mark.asyncio
async def test_a_cancelled_request_drops_its_connection(client: HttpClient) -> None:
    gate = asyncio.Event()

    async def hold_first(server: Server, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if len(server.seen) == 1:
            await asyncio.wait_for(gate.wait(), 5)
        writer.write(OK)
        return True

    server = await serve(hold_first)
    request = asyncio.create_task(client.request("POST", server.url(), content=b"x"))
    await asyncio.sleep(0.05)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    gate.set()
    assert (await client.request("POST", server.url(), content=b"x")).content == b"ok"
    assert server.connections == 2  # the late answer on the first connection cannot be taken for this one
    await server.stop()


# ---------------------------------------------------------------------------- https


def _self_signed_for_127_0_0_1(tmp_path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.mark.asyncio
async def test_https_verifies_the_certificate_and_keeps_the_connection(tmp_path) -> None:
    cert, key = _self_signed_for_127_0_0_1(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    server = await serve(answer(OK, CHUNKED), tls=server_context)
    trusting = HttpClient(timeout=5, ssl_context=ssl.create_default_context(cafile=cert))
    assert (await trusting.request("POST", server.url(), content=b"x")).content == b"ok"
    assert (await trusting.request("POST", server.url(), content=b"x")).text == "<Response>ré</Response>"
    assert server.connections == 1
    default = HttpClient(timeout=5)  # the system's trust store does not know this certificate
    with pytest.raises(ConnectError, match="certificate"):
        await default.request("POST", server.url(), content=b"x")
    await trusting.aclose()
    await default.aclose()
    await server.stop()
