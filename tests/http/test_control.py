"""The control API over real sockets: a running simulator, httpx against it, smpplib clients in threads."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from simulator.http import control
from simulator.http.control import routes
from simulator.smpp import text as sms_text
from simulator.testing import SmppTestClient

from .conftest import eventually

pytestmark = pytest.mark.asyncio

HANDSET = "447700900001"


def udh_concat(short_message: bytes) -> tuple[int, int, int, bytes]:
    """(ref, total, seq, payload) of a part carrying an 8-bit-ref concatenation UDH."""
    assert short_message[:3] == b"\x05\x00\x03", short_message[:6].hex()
    return short_message[3], short_message[4], short_message[5], short_message[6:]


def parse_iso(value: str) -> datetime:
    assert value.endswith("Z") and len(value) == len("2024-01-01T00:00:00.000Z"), value
    return datetime.fromisoformat(value)


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["message"]


async def receive(peer: SmppTestClient, count: int = 1, timeout: float = 5.0) -> list:
    return await asyncio.to_thread(peer.deliveries, count, timeout)


async def submit(peer: SmppTestClient, source: str, destination: str, text: str, **kwargs) -> str:
    resp = await asyncio.to_thread(peer.submit, source, destination, text.encode("ascii"), **kwargs)
    assert resp.status == 0, resp.status
    return resp.message_id.decode() if isinstance(resp.message_id, bytes) else resp.message_id


# ---------------------------------------------------------------------------- MO


async def test_mo_gsm_reaches_the_owning_account(api, smpp_peer):
    receiver = await smpp_peer("acme", "receiver")
    response = await api.post("/api/v1/mo", json={"from": HANDSET, "to": "12345", "text": "Hello @ the shop"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["routed_to"] == "acme"
    assert (body["system_id"], body["direction"], body["channel"]) == ("acme", "mo", "handset")
    assert (body["from"], body["to"], body["data_coding"]) == (HANDSET, "12345", 0)
    assert "history" not in body
    parse_iso(body["submitted_at"])

    [pdu] = await receive(receiver)
    assert pdu.data_coding == 0
    assert not pdu.esm_class & 0x40
    assert pdu.source_addr in (HANDSET, HANDSET.encode())
    assert pdu.destination_addr in ("12345", b"12345")
    assert sms_text.decode(pdu.short_message, 0) == "Hello @ the shop"


async def test_mo_ucs2_arrives_with_data_coding_8(api, smpp_peer):
    receiver = await smpp_peer("acme", "receiver")
    chosen = await api.post("/api/v1/mo", json={"from": HANDSET, "to": "12345", "text": "Привет"})
    forced = await api.post("/api/v1/mo", json={"from": HANDSET, "to": "12345", "text": "plain", "data_coding": 8})
    assert chosen.status_code == forced.status_code == 201
    assert chosen.json()["data_coding"] == forced.json()["data_coding"] == 8

    first, second = await receive(receiver, 2)
    assert (first.data_coding, first.short_message) == (8, "Привет".encode("utf-16-be"))
    assert (second.data_coding, second.short_message) == (8, "plain".encode("utf-16-be"))


async def test_long_ucs2_mo_arrives_as_five_concatenated_parts(api, smpp_peer):
    receiver = await smpp_peer("acme", "receiver")
    text = ("Привет, мир! " * 30)[:300]
    assert len(text) == 300
    response = await api.post("/api/v1/mo", json={"from": HANDSET, "to": "12345", "text": text})
    assert response.status_code == 201, response.text

    parts = await receive(receiver, 5)
    decoded = [udh_concat(pdu.short_message) for pdu in parts]
    assert all(pdu.esm_class & 0x40 and pdu.data_coding == 8 for pdu in parts)
    assert len({ref for ref, _, _, _ in decoded}) == 1
    assert [(total, seq) for _, total, seq, _ in decoded] == [(5, seq) for seq in range(1, 6)]
    payload = b"".join(chunk for *_, chunk in sorted(decoded, key=lambda d: d[2]))
    assert payload.decode("utf-16-be") == text
    await asyncio.sleep(0.1)
    assert len(receiver.delivered) == 5  # and nothing more


async def test_mo_is_held_until_the_account_binds(api, smpp_peer):
    response = await api.post("/api/v1/mo", json={"from": HANDSET, "to": "12345", "text": "early bird"})
    assert response.status_code == 201
    assert "carrier_sim_held_deliveries 1\n" in (await api.get("/metrics")).text

    receiver = await smpp_peer("acme", "receiver")
    [pdu] = await receive(receiver)
    assert sms_text.decode(pdu.short_message, 0) == "early bird"
    assert "carrier_sim_held_deliveries 0\n" in (await api.get("/metrics")).text


async def test_mo_system_id_overrides_the_owner(api, smpp_peer):
    acme = await smpp_peer("acme", "receiver")
    beta = await smpp_peer("beta", "receiver")
    response = await api.post("/api/v1/mo", json={"from": HANDSET, "to": "12345", "text": "for beta",
                                                  "system_id": "beta"})
    assert response.status_code == 201
    assert response.json()["routed_to"] == "beta"
    [pdu] = await receive(beta)
    assert sms_text.decode(pdu.short_message, 0) == "for beta"
    assert acme.delivered == []


async def test_mo_to_an_unowned_number_is_handset_to_handset(api):
    response = await api.post("/api/v1/mo", json={"from": HANDSET, "to": "447700900555", "text": "hi mate"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["routed_to"] == "handset"
    assert body["system_id"] == ""
    assert body["state"] == "DELIVERED"

    inbox = (await api.get("/api/v1/handsets/447700900555/messages")).json()
    assert [(m["id"], m["from"], m["text"]) for m in inbox["messages"]] == [(body["id"], HANDSET, "hi mate")]


async def test_mo_text_that_does_not_fit_gsm_is_refused(api):
    response = await api.post("/api/v1/mo", json={"from": HANDSET, "to": "12345", "text": "Привет", "data_coding": 0})
    assert "data_coding 0" in assert_error(response, 400, "bad_request")
    health = (await api.get("/healthz")).json()
    assert health["store"] == 0


# ---------------------------------------------------------------------------- messages


async def test_messages_filters(api, smpp_peer):
    tx = await smpp_peer("acme", "transmitter")
    mt_id = await submit(tx, "ACME", "447700900777", "an MT")
    before = time.time() - 1
    mo_acme = (await api.post("/api/v1/mo", json={"from": "447700900002", "to": "12345", "text": "one"})).json()
    mo_beta = (await api.post("/api/v1/mo", json={"from": "447700900003", "to": "5555", "text": "two"})).json()
    p2p = (await api.post("/api/v1/mo", json={"from": "447700900003", "to": "447700900004", "text": "three"})).json()
    await eventually(lambda: _state_is(api, mt_id, "DELIVERED"), what="MT delivered")

    async def ids(**params) -> list[str]:
        response = await api.get("/api/v1/messages", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] == len(body["messages"])
        return [m["id"] for m in body["messages"]]

    assert await ids() == [p2p["id"], mo_beta["id"], mo_acme["id"], mt_id]  # newest first
    assert await ids(direction="mt") == [mt_id]
    assert await ids(direction="MO") == [p2p["id"], mo_beta["id"], mo_acme["id"]]
    assert await ids(system_id="acme") == [mo_acme["id"], mt_id]
    assert await ids(system_id="beta") == [mo_beta["id"]]
    assert await ids(to="12345") == [mo_acme["id"]]
    assert await ids(**{"from": "447700900003"}) == [p2p["id"], mo_beta["id"]]
    assert await ids(status="DELIVERED") == await ids(status="delivrd") == [p2p["id"], mt_id]
    assert await ids(status="enroute") == [mo_beta["id"], mo_acme["id"]]
    assert await ids(limit="2") == [p2p["id"], mo_beta["id"]]
    assert await ids(since=str(time.time() + 60)) == []
    assert await ids(until=str(before - 3600)) == []
    since_iso = datetime.fromtimestamp(before - 60, timezone.utc).isoformat()
    assert len(await ids(since=since_iso, until=str(time.time() + 60))) == 4
    assert await ids(to="12345", direction="mt") == []


async def _state_is(api, message_id: str, state: str) -> bool:
    response = await api.get(f"/api/v1/messages/{message_id}")
    return response.status_code == 200 and response.json()["state"] == state


async def test_message_history_after_a_submit(api, smpp_peer):
    trx = await smpp_peer("acme", "transceiver")
    message_id = await submit(trx, "ACME", "447700900777", "hello history", registered_delivery=1)
    [receipt] = await asyncio.to_thread(trx.wait_for, lambda p: p.command == "deliver_sm" and p.esm_class & 0x04)
    assert b"stat:DELIVRD" in receipt.short_message

    async def delivered_receipt():
        body = (await api.get(f"/api/v1/messages/{message_id}")).json()
        return body if any(e["event"].startswith("receipt_delivered") for e in body["history"]) else None

    body = await eventually(delivered_receipt, what="receipt_delivered in the history")
    events = [entry["event"] for entry in body["history"]]
    assert events == ["submitted", "response_sent", "scheduled", "final", "receipt_queued",
                      "receipt_delivered:DELIVERED"]
    assert body["history"][0]["detail"] == "smpp"
    times = [parse_iso(entry["at"]) for entry in body["history"]]
    assert times == sorted(times)
    assert (body["id"], body["system_id"], body["channel"], body["direction"]) == (message_id, "acme", "smpp", "mt")
    assert (body["from"], body["to"], body["text"]) == ("ACME", "447700900777", "hello history")
    assert (body["state"], body["error"], body["network_error"]) == ("DELIVERED", 0, None)
    assert (body["registered_delivery"], body["parts"], body["part"], body["group"]) == (1, 1, 1, None)
    assert parse_iso(body["final_at"]) >= parse_iso(body["submitted_at"])
    assert body["schedule_at"] is None and body["expire_at"] is None


async def test_unknown_message_is_404(api):
    assert_error(await api.get("/api/v1/messages/doesnotexist"), 404, "not_found")


# ---------------------------------------------------------------------------- binds


async def _bind_ids(api) -> list[str]:
    response = await api.get("/api/v1/binds")
    assert response.status_code == 200
    return [bind["id"] for bind in response.json()["binds"]]


async def test_binds_list_and_unbind(api, smpp_peer):
    started = datetime.now(timezone.utc)
    receiver = await smpp_peer("acme", "receiver")
    binds = (await api.get("/api/v1/binds")).json()["binds"]
    assert len(binds) == 1
    [bind] = binds
    assert (bind["system_id"], bind["bind_type"], bind["interface_version"]) == ("acme", "receiver", 0x34)
    assert bind["peer"].startswith("127.0.0.1:")
    assert abs((parse_iso(bind["connected_at"]) - started).total_seconds()) < 5
    assert (bind["window_in_use"], bind["deliveries_in_flight"]) == (0, 0)
    assert (await api.get("/healthz")).json()["binds"] == 1

    response = await api.delete(f"/api/v1/binds/{bind['id']}")
    assert response.status_code == 204, response.text
    unbinds = await asyncio.to_thread(receiver.wait_for, lambda p: p.command == "unbind")
    assert len(unbinds) == 1
    assert await asyncio.to_thread(receiver.wait_disconnected, 5)
    assert await _bind_ids(api) == []
    assert_error(await api.delete(f"/api/v1/binds/{bind['id']}"), 404, "not_found")


async def test_a_bind_that_ignores_unbind_is_dropped(api, smpp_peer, monkeypatch):
    monkeypatch.setattr(control, "UNBIND_GRACE", 0.3)
    deaf = await smpp_peer("acme", "receiver")
    deaf.answer_unbind = False
    [bind_id] = await _bind_ids(api)
    started = time.monotonic()
    response = await api.delete(f"/api/v1/binds/{bind_id}")
    assert response.status_code == 204
    assert 0.25 < time.monotonic() - started < 3
    assert await asyncio.to_thread(deaf.wait_for, lambda p: p.command == "unbind")
    assert await asyncio.to_thread(deaf.wait_disconnected, 5)
    assert await _bind_ids(api) == []


async def test_drop_a_bind(api, smpp_peer):
    keep = await smpp_peer("beta", "transmitter")
    dropped = await smpp_peer("acme", "transceiver")
    [bind] = [b for b in (await api.get("/api/v1/binds")).json()["binds"] if b["system_id"] == "acme"]
    response = await api.delete(f"/api/v1/binds/{bind['id']}", params={"mode": "drop"})
    assert response.status_code == 204, response.text
    assert await asyncio.to_thread(dropped.wait_disconnected, 5)
    assert not any(p.command == "unbind" for p in dropped.received)
    remaining = (await api.get("/api/v1/binds")).json()["binds"]
    assert [b["system_id"] for b in remaining] == ["beta"]
    assert not keep.disconnected.is_set()


async def test_kick_refuses_bad_mode_and_unknown_binds(api, smpp_peer):
    await smpp_peer("acme", "receiver")
    [bind_id] = await _bind_ids(api)
    assert "mode" in assert_error(await api.delete(f"/api/v1/binds/{bind_id}", params={"mode": "nuke"}),
                                  400, "bad_request")
    assert_error(await api.delete("/api/v1/binds/b999999"), 404, "not_found")
    assert await _bind_ids(api) == [bind_id]


# ---------------------------------------------------------------------------- handsets


async def _inbox(api, number: str) -> dict:
    response = await api.get(f"/api/v1/handsets/{number}/messages")
    assert response.status_code == 200, response.text
    return response.json()


async def test_handset_inbox_after_an_mt(api, smpp_peer):
    tx = await smpp_peer("acme", "transmitter")
    assert (await _inbox(api, "447700900123")) == {"number": "447700900123", "messages": [], "opted_out_of": []}
    first = await submit(tx, "ACME", "447700900123", "Your code is 1234")
    second = await submit(tx, "ACME", "447700900123", "Your code is 5678")

    async def two_messages():
        inbox = await _inbox(api, "447700900123")
        return inbox if len(inbox["messages"]) == 2 else None

    inbox = await eventually(two_messages, what="two messages in the inbox")
    assert [m["id"] for m in inbox["messages"]] == [first, second]  # newest last
    assert [m["text"] for m in inbox["messages"]] == ["Your code is 1234", "Your code is 5678"]
    assert all(m["from"] == "ACME" and m["state"] == "DELIVERED" for m in inbox["messages"])
    assert (await _inbox(api, "447700900999"))["messages"] == []


async def test_handset_reply_goes_back_to_the_sending_account(api, smpp_peer):
    trx = await smpp_peer("acme", "transceiver")
    await smpp_peer("beta", "receiver")
    await submit(trx, "ACME", "447700900123", "Reply YES to confirm")
    await eventually(lambda: _inbox_size(api, "447700900123", 1), what="MT in the inbox")

    response = await api.post("/api/v1/handsets/447700900123/reply", json={"text": "YES please"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["routed_to"] == "acme"
    assert (body["from"], body["to"], body["direction"]) == ("447700900123", "ACME", "mo")

    [pdu] = await asyncio.to_thread(trx.wait_for, lambda p: p.command == "deliver_sm" and not p.esm_class & 0x04)
    assert pdu.source_addr in ("447700900123", b"447700900123")
    assert pdu.destination_addr in ("ACME", b"ACME")
    assert sms_text.decode(pdu.short_message, pdu.data_coding) == "YES please"


async def _inbox_size(api, number: str, size: int) -> bool:
    return len((await _inbox(api, number))["messages"]) == size


async def test_handset_stop_reply_opts_out(api, smpp_peer):
    tx = await smpp_peer("acme", "transmitter")
    await submit(tx, "ACME", "447700900123", "Offers! Reply STOP to opt out")
    await eventually(lambda: _inbox_size(api, "447700900123", 1), what="MT in the inbox")
    response = await api.post("/api/v1/handsets/447700900123/reply", json={"to": "ACME", "text": "STOP"})
    assert response.status_code == 201, response.text
    inbox = await _inbox(api, "447700900123")
    assert inbox["opted_out_of"] == ["ACME"]
    assert "unsubscribed" in inbox["messages"][-1]["text"]  # the carrier's confirmation


async def test_handset_reply_needs_a_recipient(api):
    message = assert_error(await api.post("/api/v1/handsets/447700900123/reply", json={"text": "hello?"}),
                           400, "bad_request")
    assert "to" in message
    assert (await api.get("/healthz")).json()["store"] == 0
    explicit = await api.post("/api/v1/handsets/447700900123/reply", json={"to": "447700900124", "text": "hello?"})
    assert explicit.status_code == 201
    assert explicit.json()["routed_to"] == "handset"


# ---------------------------------------------------------------------------- reset, health, metrics, openapi


async def test_reset_forgets_messages_and_inboxes_but_keeps_binds(api, smpp_peer):
    receiver = await smpp_peer("acme", "receiver")
    await api.post("/api/v1/mo", json={"from": HANDSET, "to": "447700900555", "text": "p2p"})
    await api.post("/api/v1/mo", json={"from": HANDSET, "to": "12345", "text": "mo"})
    await api.post("/api/v1/handsets/447700900555/reply", json={"to": "SHOP", "text": "STOP"})
    await receive(receiver)
    # p2p, mo, the STOP and the carrier's unsubscribe confirmation
    assert (await api.get("/api/v1/messages")).json()["count"] == 4
    assert (await _inbox(api, "447700900555"))["opted_out_of"] == ["SHOP"]

    response = await api.post("/api/v1/reset")
    assert response.status_code == 204
    assert response.content == b""
    assert (await api.get("/api/v1/messages")).json() == {"messages": [], "count": 0}
    assert await _inbox(api, "447700900555") == {"number": "447700900555", "messages": [], "opted_out_of": []}
    assert (await api.get("/healthz")).json() == {"status": "ok", "binds": 1, "store": 0}
    assert "carrier_sim_mo_total 0\n" in (await api.get("/metrics")).text
    assert not receiver.disconnected.is_set()


async def test_healthz(api, smpp_peer):
    assert (await api.get("/healthz")).json() == {"status": "ok", "binds": 0, "store": 0}
    await smpp_peer("acme", "transmitter")
    await smpp_peer("beta", "receiver")
    await api.post("/api/v1/mo", json={"from": HANDSET, "to": "447700900555", "text": "p2p"})
    assert (await api.get("/healthz")).json() == {"status": "ok", "binds": 2, "store": 1}


async def test_metrics(api, smpp_peer):
    trx = await smpp_peer("acme", "transceiver")
    await submit(trx, "ACME", "447700900777", "counted", registered_delivery=1)
    await asyncio.to_thread(trx.wait_for, lambda p: p.command == "deliver_sm" and p.esm_class & 0x04)
    await api.post("/api/v1/mo", json={"from": HANDSET, "to": "12345", "text": "mo"})
    await receive(trx, 2)

    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    for line in [
        'carrier_sim_submits_total{status="ESME_ROK",code="0x00"} 1',
        'carrier_sim_messages_final_total{state="DELIVERED"} 1',
        'carrier_sim_receipts_total{state="DELIVERED"} 1',
        "carrier_sim_mo_total 1",
        "carrier_sim_binds 1",
        "carrier_sim_store_messages 2",
        "carrier_sim_held_deliveries 0",
        "# TYPE carrier_sim_deliveries_in_flight gauge",
        "# TYPE carrier_sim_scheduled_timers gauge",
    ]:
        assert line in text.splitlines(), line


async def test_openapi_document_is_valid_and_covers_every_route(api, sim):
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    for route in routes(sim):
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method == "HEAD":
                continue
            assert method.lower() in document["paths"].get(route.path, {}), f"{method} {route.path} undocumented"
    assert "/openapi.json" in document["paths"]


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        (b"{", "JSON"),
        (b"", "JSON object"),
        (b"\xff\xfe", "JSON"),
        (b"[1, 2]", "array"),
        (b'"text"', "string"),
        (b'{"to": "12345", "text": "x"}', "from"),
        (b'{"from": "447700900001", "text": "x"}', "to"),
        (b'{"from": "447700900001", "to": "12345"}', "text"),
        (b'{"from": 447700900001, "to": "12345", "text": "x"}', "from"),
        (b'{"from": "447700900001", "to": "12 345", "text": "x"}', "to"),
        (b'{"from": "447700900001", "to": "", "text": "x"}', "to"),
        (b'{"from": "447700900001", "to": "12345", "text": 5}', "text"),
        (b'{"from": "447700900001", "to": "12345", "text": "x", "data_coding": 3}', "data_coding"),
        (b'{"from": "447700900001", "to": "12345", "text": "x", "data_coding": "0"}', "data_coding"),
        (b'{"from": "447700900001", "to": "12345", "text": "x", "data_coding": true}', "data_coding"),
        (b'{"from": "447700900001", "to": "12345", "text": "x", "data_coding": 0.0}', "data_coding"),
        (b'{"from": "447700900001", "to": "12345", "text": "x", "system_id": ""}', "system_id"),
        (b'{"from": "447700900001", "to": "12345", "text": "x", "system_id": "far-too-long-system-id"}', "system_id"),
        (b'{"from": "447700900001", "to": "12345", "text": "x", "colour": "red"}', "colour"),
        (b'{"from": "447700900001", "to": "12345", "text": "x", "system_id": "nobody"}', "no account"),
        (b'{"from": "447700900001", "to": "12345", "text": "\\ud800"}', "data_coding"),
    ],
)
async def test_bad_mo_bodies_get_400(api, body, mentions):
    response = await api.post("/api/v1/mo", content=body, headers={"content-type": "application/json"})
    assert mentions in assert_error(response, 400, "bad_request")
    assert (await api.get("/healthz")).json()["store"] == 0


async def test_too_long_text_and_huge_bodies_are_refused(api):
    too_many_segments = "x" * (153 * 255 + 1)
    response = await api.post("/api/v1/mo", json={"from": HANDSET, "to": "12345", "text": too_many_segments})
    assert "segments" in assert_error(response, 400, "bad_request")
    huge = b'{"text": "' + b"x" * (2 << 20) + b'"}'
    assert_error(await api.post("/api/v1/mo", content=huge), 413, "payload_too_large")


@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"status": "BOGUS"}, "status"),
        ({"direction": "sideways"}, "direction"),
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-5"}, "limit"),
        ({"limit": "²"}, "limit"),
        ({"since": "yesterday"}, "since"),
        ({"until": "nan"}, "until"),
        ({"stauts": "DELIVRD"}, "stauts"),
    ],
)
async def test_bad_message_queries_get_400(api, params, mentions):
    response = await api.get("/api/v1/messages", params=params)
    assert mentions in assert_error(response, 400, "bad_request")


async def test_reply_bodies_are_validated(api):
    assert "text" in assert_error(await api.post("/api/v1/handsets/447700900123/reply", json={"to": "ACME"}),
                                  400, "bad_request")
    assert "to" in assert_error(await api.post("/api/v1/handsets/447700900123/reply",
                                               json={"to": ["ACME"], "text": "x"}), 400, "bad_request")
    assert "number" in assert_error(await api.post("/api/v1/handsets/not%20a%20number/reply",
                                                   json={"to": "ACME", "text": "x"}), 400, "bad_request")


async def test_unknown_routes_and_methods_use_the_error_shape(api):
    assert_error(await api.get("/api/v1/nothing-here"), 404, "not_found")
    response = await api.get("/api/v1/mo")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


async def test_an_unexpected_error_is_a_500_in_the_error_shape(api, sim, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sim.carrier, "handset_send", explode)
    response = await api.post("/api/v1/mo", json={"from": HANDSET, "to": "12345", "text": "x"})
    assert "boom" in assert_error(response, 500, "internal")
    assert (await api.get("/healthz")).status_code == 200  # still serving
