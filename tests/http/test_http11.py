"""HTTP/1.1 on the wire: answers parsed whatever their split into reads, URLs mapped to origins and targets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.http.http11 import RemoteProtocolError, ResponseParser, ServerDisconnected, parse_url


def _parse(data: bytes, cuts: list[int], method: str = "POST"):
    parser = ResponseParser(method)
    points = sorted({min(c, len(data)) for c in cuts}) + [len(data)]
    start, response = 0, None
    for point in points:
        piece = data[start:point]
        start = point
        result = parser.feed(piece)
        if result is not None:
            assert response is None
            response = result
    return parser, response


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300), sizes=st.lists(st.integers(1, 40), max_size=12),
       cuts=st.lists(st.integers(0, 700), max_size=12), chunked=st.booleans(), uppercase_hex=st.booleans())
def test_any_split_of_an_answer_parses_to_the_same_response(body: bytes, sizes: list[int], cuts: list[int],
                                                            chunked: bool, uppercase_hex: bool) -> None:
    if chunked:
        encoded, rest, position = [], body, 0
        for size in sizes or [len(body) or 1]:
            piece = rest[position:position + size]
            if not piece:
                break
            encoded.append(f"{len(piece):{'X' if uppercase_hex else 'x'}}\r\n".encode() + piece + b"\r\n")
            position += size
        if position < len(body):
            encoded.append(f"{len(body) - position:x}\r\n".encode() + body[position:] + b"\r\n")
        data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(encoded) + b"0\r\n\r\n"
    else:
        data = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    parser, response = _parse(data, cuts)
    assert response is not None and response.content == body and response.status_code == 200
    assert parser.keep_alive and not parser.trailing


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=200), cuts=st.lists(st.integers(0, 300), max_size=8))
def test_a_close_delimited_body_is_whatever_came_before_the_close(body: bytes, cuts: list[int]) -> None:
    parser, response = _parse(b"HTTP/1.1 200 OK\r\n\r\n" + body, cuts)
    assert response is None
    final = parser.feed_eof()
    assert final.content == body and not parser.keep_alive


def test_eof_before_any_byte_is_a_disconnect_and_after_some_a_protocol_error() -> None:
    with pytest.raises(ServerDisconnected):
        ResponseParser().feed_eof()
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200")
    with pytest.raises(RemoteProtocolError) as raised:
        parser.feed_eof()
    assert not isinstance(raised.value, ServerDisconnected)


def test_oversized_heads_and_bodies_are_refused() -> None:
    with pytest.raises(RemoteProtocolError, match="head"):
        ResponseParser().feed(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000)
    with pytest.raises(RemoteProtocolError, match="larger"):
        ResponseParser(max_body=10).feed(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match="larger"):
        ResponseParser(max_body=10).feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n")


def test_urls_map_to_origins_targets_and_host_headers() -> None:
    https = parse_url("https://Example.com/p?q")
    assert (https.origin, https.host_header, https.path, https.tls) == (("https", "example.com", 443), "example.com",
                                                                        "/p?q", True)
    assert parse_url("http://127.0.0.1:80").host_header == "127.0.0.1"
    assert parse_url("http://127.0.0.1:80").path == "/"
    assert parse_url("http://[::1]:8080/x#frag").host_header == "[::1]:8080"
    assert parse_url("http://[::1]:8080/x#frag").path == "/x"
    assert parse_url("http://bücher.example/").host == "xn--bcher-kva.example"
