"""The webhook poster over real sockets: bounded concurrency, per-key order, retries, history, backlog, hooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from simulator.config import WebhookConfig
from simulator.core.clock import SystemClock
from simulator.core.scheduler import Scheduler
from simulator.http.client import HttpClient, Response
from simulator.http.webhooks import Webhook, WebhookPoster

from .scripted import OK, Seen, Server, answer, answer_when, closed_port, serve

FAIL = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"


@pytest_asyncio.fixture
async def scheduler() -> AsyncIterator[Scheduler]:
    scheduler = Scheduler(SystemClock())
    driver = asyncio.create_task(scheduler.run())
    yield scheduler
    driver.cancel()
    await asyncio.gather(driver, return_exceptions=True)


async def started(scheduler: Scheduler, **config: float) -> WebhookPoster:
    settings = {"timeout": 2.0, "concurrency": 4, "first_delay": 0.02, "factor": 2.0, "max_attempts": 3} | config
    poster = WebhookPoster(scheduler, SystemClock(), WebhookConfig(**settings))  # type: ignore[arg-type]
    await poster.start()
    return poster


async def settled(poster: WebhookPoster, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if poster.pending == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{poster.pending} webhooks still pending after {timeout}s")


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


@pytest.mark.asyncio
async def test_no_more_than_concurrency_requests_are_in_flight(scheduler: Scheduler) -> None:
    gate = asyncio.Event()
    in_flight = [0, 0]  # now, most

    async def hold(server: Server, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        in_flight[0] += 1
        in_flight[1] = max(in_flight[1], in_flight[0])
        await asyncio.wait_for(gate.wait(), 5)
        in_flight[0] -= 1
        writer.write(OK)
        return True

    server = await serve(hold)
    poster = await started(scheduler, concurrency=3)
    for n in range(12):
        poster.post(Webhook(server.url(), f"n={n}".encode(), label=f"hook {n}"))
    await until(lambda: len(server.seen) == 3)
    await asyncio.sleep(0.1)
    assert len(server.seen) == 3 and poster.pending == 12
    gate.set()
    await settled(poster)
    assert in_flight[1] == 3 and server.connections == 3 and poster.sent == 12
    assert sorted(s.body for s in server.seen) == sorted(f"n={n}".encode() for n in range(12))
    await poster.stop()
    await server.stop()


@pytest.mark.asyncio
async def test_a_key_goes_out_in_order_and_a_retry_holds_back_the_ones_behind_it(scheduler: Scheduler) -> None:
    async def fail_first_of_a(server: Server, seen: Seen, writer: asyncio.StreamWriter) -> bool:
        first_a = seen.body == b"a1" and sum(s.body == b"a1" for s in server.seen) == 1
        writer.write(FAIL if first_a else OK)
        return True

    server = await serve(fail_first_of_a)
    poster = await started(scheduler)
    for body in (b"a1", b"a2", b"a3"):
        poster.post(Webhook(server.url("/a"), body, label=body.decode(), key="message-a"))
    poster.post(Webhook(server.url("/b"), b"b1", label="b1", key="message-b"))
    await settled(poster)
    assert [s.body for s in server.seen if s.body.startswith(b"a")] == [b"a1", b"a1", b"a2", b"a3"]
    assert server.seen[1].body == b"b1"  # the other key did not wait for a1's retry
    a1 = [(a.attempt, a.status) for a in poster.attempts(server.url("/a")) if a.label == "a1"]
    assert a1 == [(1, 500), (2, 200)]
    assert (poster.sent, poster.retried, poster.abandoned) == (4, 1, 0)
    await poster.stop()
    await server.stop()


@pytest.mark.asyncio
async def test_a_dead_receiver_is_retried_with_back_off_then_given_up(scheduler: Scheduler) -> None:
    port = closed_port()
    poster = await started(scheduler, max_attempts=3, first_delay=0.05, factor=2.0)
    loop = asyncio.get_running_loop()
    started_at = loop.time()
    poster.post(Webhook(f"http://127.0.0.1:{port}/cb", b"x", label="dead", key="k"))
    await settled(poster)
    elapsed = loop.time() - started_at
    attempts = poster.attempts()
    assert [a.attempt for a in attempts] == [1, 2, 3] and all(a.status is None for a in attempts)
    assert all(a.error.startswith("ConnectError: ") for a in attempts)
    assert elapsed >= 0.05 + 0.1  # first_delay, then first_delay * factor
    assert (poster.sent, poster.retried, poster.abandoned) == (0, 2, 1)
    await poster.stop()


@pytest.mark.asyncio
async def test_an_invalid_url_is_given_up_at_once(scheduler: Scheduler) -> None:
    poster = await started(scheduler)
    poster.post(Webhook("ftp://127.0.0.1/x", b"x", label="bad"))
    await settled(poster)
    [attempt] = poster.attempts()
    assert attempt.error.startswith("invalid request: ") and poster.abandoned == 1 and poster.retried == 0
    await poster.stop()


@pytest.mark.asyncio
async def test_before_gets_the_client_and_on_response_the_answer(scheduler: Scheduler) -> None:
    server = await serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nContent-Type: text/plain\r\n\r\nchallenge",
                                b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 11\r\n\r\n<Response/>"))
    poster = await started(scheduler)
    answers: list[Response] = []

    async def handshake(client: HttpClient) -> bool:
        verification = await client.request("GET", server.url("/verify?hub.challenge=1"))
        return verification.text == "challenge"

    poster.post(Webhook(server.url("/event"), b"e=1", {"content-type": "application/json"}, label="event",
                        on_response=answers.append, before=handshake))
    await settled(poster)
    assert [s.request_line for s in server.seen] == ["GET /verify?hub.challenge=1 HTTP/1.1", "POST /event HTTP/1.1"]
    assert server.seen[1].headers["content-type"] == "application/json"
    assert server.seen[1].headers["user-agent"] == "carrier-sim-webhooks/1.0"
    [response] = answers
    assert response.content == b"<Response/>" and response.headers["CONTENT-TYPE"] == "text/xml"
    await poster.stop()
    await server.stop()


@pytest.mark.asyncio
async def test_a_refused_handshake_fails_the_attempt(scheduler: Scheduler) -> None:
    server = await serve(answer(OK))
    poster = await started(scheduler, max_attempts=2)

    async def refuse(client: HttpClient) -> bool:
        return False

    poster.post(Webhook(server.url(), b"x", label="refused", before=refuse))
    await settled(poster)
    assert [a.error for a in poster.attempts()] == ["handshake refused"] * 2 and not server.seen
    await poster.stop()
    await server.stop()


@pytest.mark.asyncio
async def test_the_backlog_reports_room_again_at_half(scheduler: Scheduler) -> None:
    gate = asyncio.Event()
    server = await serve(answer_when(gate))
    poster = WebhookPoster(scheduler, SystemClock(), WebhookConfig(concurrency=1), max_backlog=4)
    await poster.start()
    calls: list[int] = []
    for n in range(4):
        poster.post(Webhook(server.url(), b"x", label=str(n)))
    assert not poster.has_room()
    poster.when_room(lambda: calls.append(poster.pending))
    gate.set()
    await settled(poster)
    assert calls == [2] and poster.has_room()
    await poster.stop()
    await server.stop()


@pytest.mark.asyncio
async def test_stop_closes_the_connections(scheduler: Scheduler) -> None:
    server = await serve(answer(OK))
    poster = await started(scheduler)
    poster.post(Webhook(server.url(), b"x", label="one"))
    await settled(poster)
    await poster.stop()
    await until(lambda: server.closed_by_client == 1)
    await server.stop()
