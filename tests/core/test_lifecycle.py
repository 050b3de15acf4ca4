"""Message lifecycle over real SMPP binds: receipts held and retried, schedules, expiry, query/cancel/replace."""

from __future__ import annotations

import time

import pytest

from simulator.config import AccountConfig, ReceiptFormatConfig
from simulator.core.clock import ManualClock
from simulator.core.records import MessageState
from simulator.core.scenario import parse_scenario
from simulator.smpp.receipts import parse_receipt
from simulator.smpp.status import Status
from simulator.smpp.times import format_absolute, format_relative
from simulator.testing import SimulatorThread, SmppTestClient, loopback_config


def scenario(delay: str = "5s", states: str = "[{state: DELIVRD}]", extra: str = ""):
    return parse_scenario(f"seed: 3\ndefaults:\n  receipt:\n    states: {states}\n    delay: {delay}\n{extra}")


@pytest.fixture
def manual():
    clock = ManualClock()
    with SimulatorThread(loopback_config(control=False), scenario=scenario(), clock=clock) as running:
        running.clock = clock
        yield running


def advance(sim: SimulatorThread, seconds: float, step: float = 1.0) -> None:
    """Move the carrier's clock on in steps, letting the loop run the scheduler between them."""
    remaining = seconds
    while remaining > 0:
        jump = min(step, remaining)
        sim.call(sim.clock.advance, jump)
        remaining -= jump
    time.sleep(0.05)


def receipt_id(pdu) -> str:
    return pdu.receipted_message_id.decode() if pdu.receipted_message_id else parse_receipt(pdu.short_message.decode()).id


def test_receipts_survive_a_disconnect_and_arrive_after_the_rebind(manual) -> None:
    client = SmppTestClient(manual.smpp_port, "acme")
    for n in range(1000):
        client.submit_nowait(text=b"msg %d" % n, registered_delivery=1)
    assert client.wait_until(lambda: len(client.responses) == 1000, timeout=20)
    submitted = {r.message_id.decode() for r in client.responses}
    assert len(submitted) == 1000 and all(r.status == 0 for r in client.responses)
    assert not client.delivered, "no receipt is due yet (5 s delay on the carrier clock)"
    client.close()
    advance(manual, 10)
    # The loop fires 1,000 completions after the clock moves: give a loaded machine time to.
    deadline = time.monotonic() + 10
    while (held := manual.call(lambda: manual.carrier.outbox.held("acme"))) < 1000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert held == 1000
    again = SmppTestClient(manual.smpp_port, "acme", bind="receiver")
    assert again.wait_until(lambda: len(again.delivered) >= 1000, timeout=20)
    time.sleep(0.3)
    ids = [receipt_id(pdu) for pdu in again.delivered]
    assert sorted(ids) == sorted(submitted), "every receipt exactly once, each matching its submit_sm_resp id"
    assert all(pdu.message_state == MessageState.DELIVERED for pdu in again.delivered)
    again.close()


def test_receipts_are_retried_when_the_first_answer_is_an_error(manual) -> None:
    client = SmppTestClient(manual.smpp_port, "acme")
    seen: dict[str, int] = {}

    def answer(pdu):
        key = receipt_id(pdu)
        seen[key] = seen.get(key, 0) + 1
        return Status.ESME_RSYSERR if seen[key] == 1 else Status.ESME_ROK

    client.deliver_sm_status = answer
    for n in range(200):
        client.submit_nowait(text=b"retry %d" % n, registered_delivery=1)
    assert client.wait_until(lambda: len(client.responses) == 200)
    submitted = {r.message_id.decode() for r in client.responses}
    advance(manual, 6)
    assert client.wait_until(lambda: len(client.delivered) >= 200, timeout=10)
    advance(manual, 4)  # the retry back-off
    assert client.wait_until(lambda: len(client.delivered) >= 400, timeout=10)
    assert set(seen) == submitted and set(seen.values()) == {2}
    first = next(iter(submitted))

    def events() -> list[str]:
        return [event for _, event, _ in manual.call(lambda: manual.carrier.store.get(first).history)]

    # The client has answered the retry; the server records it once that answer has reached it.
    assert client.wait_until(lambda: "receipt_delivered:DELIVERED" in events(), timeout=5)
    assert "delivery_retry" in events()
    client.close()


def test_receipts_never_answered_are_sent_again_after_the_response_timeout() -> None:
    config = loopback_config(control=False, response_timeout=1.0)
    with SimulatorThread(config, scenario=scenario("10ms")) as running:
        mute = SmppTestClient(running.smpp_port, "acme")
        mute.deliver_sm_status = lambda pdu: None  # read the receipt without answering it
        mute.submit_nowait(registered_delivery=1)
        assert mute.wait_until(lambda: len(mute.responses) == 1)

        def after_the_response(pdu) -> bool:
            return pdu.command != "submit_sm_resp"

        [first] = mute.wait_for(after_the_response, timeout=3)
        assert first.command == "deliver_sm"
        # The receipt comes again after the response timeout.
        _, second = mute.wait_for(after_the_response, count=2, timeout=6)
        assert second.command == "deliver_sm" and second.receipted_message_id == first.receipted_message_id
        mute.close()


def test_an_hour_of_receipt_delay_runs_in_a_test_that_takes_seconds() -> None:
    clock = ManualClock()
    with SimulatorThread(loopback_config(control=False), scenario=scenario("1h"), clock=clock) as running:
        running.clock = clock
        client = SmppTestClient(running.smpp_port, "acme")
        for _ in range(50):
            client.submit_nowait(registered_delivery=1)
        assert client.wait_until(lambda: len(client.responses) == 50)
        started = time.monotonic()
        advance(running, 3599, step=600)
        time.sleep(0.2)
        assert not client.delivered, "nothing before the hour is up"
        advance(running, 2)
        assert client.wait_until(lambda: len(client.delivered) == 50, timeout=5)
        assert time.monotonic() - started < 10
        first = parse_receipt(client.delivered[0].short_message.decode())
        assert first.submit_date != first.done_date, "receipt dates follow the carrier clock"
        client.close()


def test_receipts_round_robin_across_receiver_binds(sim) -> None:
    # Both receivers read all along (each client in its own thread), as real gateways do, so each always
    # has room in its window.
    receivers = [SmppTestClient(sim.smpp_port, "acme", bind="receiver") for _ in range(2)]
    sender = SmppTestClient(sim.smpp_port, "acme", bind="transmitter")
    for _ in range(40):
        sender.submit_nowait(registered_delivery=1)
    assert sender.wait_until(lambda: len(sender.responses) == 40)
    receivers[0].wait_until(lambda: sum(len(r.delivered) for r in receivers) >= 40, timeout=5)
    counts = [len(r.delivered) for r in receivers]
    # Exact alternation is proven in test_outbox; here the receivers share one process and the GIL,
    # so a lagging reader's full window sends some receipts to the other one.
    assert sum(counts) == 40 and min(counts) >= 8, counts
    for client in receivers + [sender]:
        client.close()


def test_registered_delivery_failure_only_and_intermediate() -> None:
    mix = scenario("10ms", extra="rules:\n  - match: {destination: '4479'}\n    receipt: {states: [{state: UNDELIV, err: 1}]}\n")
    with SimulatorThread(loopback_config(control=False), scenario=mix) as running:
        client = SmppTestClient(running.smpp_port, "acme")
        client.submit_nowait(destination="447700900001", registered_delivery=2, text=b"delivered")
        client.submit_nowait(destination="447900900001", registered_delivery=2, text=b"fails")
        client.submit_nowait(destination="447700900002", registered_delivery=0x11, text=b"intermediate")
        assert client.wait_until(lambda: len(client.delivered) >= 3, timeout=5)
        time.sleep(0.3)
        stats = sorted((p.short_message.decode().split("text:")[1], p.message_state, p.esm_class) for p in client.delivered)
        assert stats == [("fails", 5, 0x04), ("intermediate", 1, 0x20), ("intermediate", 2, 0x04)]
        client.close()


def test_network_error_code_and_message_state_tlvs(sim) -> None:
    mix = scenario("10ms", states="[{state: UNDELIV, err: 27, network_error: [3, 27]}]")
    with SimulatorThread(loopback_config(control=False), scenario=mix) as running:
        client = SmppTestClient(running.smpp_port, "acme")
        client.submit_nowait(registered_delivery=1)
        assert client.wait_until(lambda: len(client.delivered) == 1)
        pdu = client.delivered[0]
        assert pdu.message_state == 5
        assert pdu.network_error_code == b"\x03\x00\x1b"
        assert "stat:UNDELIV err:027" in pdu.short_message.decode()
        client.close()


@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        (ReceiptFormatConfig(id_format="decimal"), lambda text, rid, mid: rid == str(int(mid, 16)) and f"id:{rid} " in text),
        (ReceiptFormatConfig(date_seconds=True), lambda text, rid, mid: len(text.split("done date:")[1].split()[0]) == 12),
        (ReceiptFormatConfig(text_label="Text"), lambda text, rid, mid: " Text:" in text),
    ],
    ids=["decimal-id", "date-seconds", "Text-label"],
)
def test_receipt_format_variants_per_account(fmt, check) -> None:
    config = loopback_config(control=False, accounts=[AccountConfig(system_id="acme", receipts=fmt)])
    with SimulatorThread(config, scenario=scenario("10ms")) as running:
        client = SmppTestClient(running.smpp_port, "acme")
        client.submit_nowait(registered_delivery=1)
        assert client.wait_until(lambda: len(client.delivered) == 1 and len(client.responses) == 1)
        pdu = client.delivered[0]
        assert check(pdu.short_message.decode(), pdu.receipted_message_id.decode(), client.responses[0].message_id.decode())
        client.close()


def test_one_receipt_per_segment_or_per_message() -> None:
    import smpplib.gsm

    for per_segment, expected in ((False, 1), (True, 3)):
        config = loopback_config(control=False, accounts=[
            AccountConfig(system_id="acme", receipts=ReceiptFormatConfig(per_segment=per_segment))])
        with SimulatorThread(config, scenario=scenario("10ms")) as running:
            client = SmppTestClient(running.smpp_port, "acme")
            parts, coding, esm = smpplib.gsm.make_parts("x" * 400)
            for part in parts:
                client.submit_nowait(text=part, data_coding=coding, esm_class=esm, registered_delivery=1)
            assert client.wait_until(lambda: len(client.responses) == 3)
            client.wait_until(lambda: len(client.delivered) >= expected, timeout=3)
            time.sleep(0.3)
            assert len(client.delivered) == expected
            ids = {r.message_id for r in client.responses}
            assert {p.receipted_message_id for p in client.delivered} <= ids
            client.close()


def test_data_sm_carries_receipts_when_the_account_asks_for_it() -> None:
    import smpplib.smpp

    config = loopback_config(control=False, accounts=[
        AccountConfig(system_id="acme", receipts=ReceiptFormatConfig(command="data_sm"))])
    with SimulatorThread(config, scenario=scenario("10ms")) as running:
        from tests.smpp.test_server import RawClient
        from simulator.smpp.codec import encode
        from simulator.smpp.pdu import BindTransceiver, DataSm, DataSmResp
        from simulator.smpp.tlv import Tag

        raw = RawClient(running.smpp_port)
        assert raw.bind(BindTransceiver, system_id="acme") == 0
        raw.send(encode(DataSm(sequence_number=2, source_addr="123", destination_addr="447700900001",
                               registered_delivery=1, tlvs={Tag.MESSAGE_PAYLOAD: b"data sm text"})))
        response = raw.read()
        assert isinstance(response, DataSmResp) and response.command_status == 0 and response.message_id
        receipt = raw.read()
        assert isinstance(receipt, DataSm) and receipt.esm_class == 0x04
        assert receipt.tlv("receipted_message_id") == response.message_id
        assert b"stat:DELIVRD" in receipt.tlv("message_payload")
        raw.send(encode(receipt.response()))
        assert smpplib.smpp  # smpplib is only needed here to prove the import works beside our codec


def test_schedule_delivery_time_and_validity_period(manual) -> None:
    client = SmppTestClient(manual.smpp_port, "acme")
    wall = manual.call(manual.clock.wall)
    client.submit_nowait(text=b"past", schedule_delivery_time=format_absolute(wall - 3600), registered_delivery=1)
    client.submit_nowait(text=b"later", schedule_delivery_time=format_relative(60), registered_delivery=1)
    client.submit_nowait(text=b"absolute", schedule_delivery_time=format_absolute(wall + 30), registered_delivery=1)
    client.submit_nowait(text=b"expires", validity_period=format_relative(2), registered_delivery=1)
    client.submit_nowait(text=b"bad", schedule_delivery_time="2613450000000000", registered_delivery=1)
    assert client.wait_until(lambda: len(client.responses) == 5)
    statuses = {r.sequence: r.status for r in client.responses}
    assert sorted(statuses.values()) == [0, 0, 0, Status.ESME_RINVSCHED, Status.ESME_RINVSCHED]
    advance(manual, 10)
    assert client.wait_until(lambda: len(client.delivered) == 1)
    expired = parse_receipt(client.delivered[0].short_message.decode())
    assert expired.stat == "EXPIRED" and expired.text == "expires"
    advance(manual, 30)
    assert client.wait_until(lambda: len(client.delivered) == 2)
    assert parse_receipt(client.delivered[1].short_message.decode()).text == "absolute"
    advance(manual, 40)
    assert client.wait_until(lambda: len(client.delivered) == 3)
    assert parse_receipt(client.delivered[2].short_message.decode()).text == "later"
    client.close()


def test_query_cancel_and_replace_against_the_store(manual) -> None:
    from tests.smpp.test_server import RawClient
    from simulator.smpp.codec import encode
    from simulator.smpp.pdu import BindTransceiver, CancelSm, QuerySm, ReplaceSm, SubmitSm

    raw = RawClient(manual.smpp_port)
    assert raw.bind(BindTransceiver) == 0
    for n, text in enumerate((b"keep", b"cancel me", b"replace me"), start=2):
        raw.send(encode(SubmitSm(sequence_number=n, source_addr="123", destination_addr="447700900001",
                                 short_message=text, registered_delivery=1)))
    keep, cancel, replace = (raw.read().message_id for _ in range(3))
    raw.send(encode(CancelSm(sequence_number=10, message_id=cancel, source_addr="123")))
    assert raw.read().command_status == 0
    raw.send(encode(CancelSm(sequence_number=11, message_id=cancel, source_addr="123")))
    assert raw.read().command_status == Status.ESME_RCANCELFAIL, "already cancelled"
    raw.send(encode(ReplaceSm(sequence_number=12, message_id=replace, source_addr="123", short_message=b"replaced",
                               registered_delivery=1)))
    assert raw.read().command_status == 0
    raw.send(encode(QuerySm(sequence_number=13, message_id=keep, source_addr="123")))
    query = raw.read()
    assert query.message_state == MessageState.ENROUTE and query.final_date == ""
    advance(manual, 6)
    receipts = [raw.read() for _ in range(2)]
    texts = sorted(r.short_message.decode().split("text:")[1] for r in receipts)
    assert texts == ["keep", "replaced"]
    for receipt in receipts:
        raw.send(encode(receipt.response()))
    raw.send(encode(QuerySm(sequence_number=14, message_id=cancel, source_addr="123")))
    assert raw.read().message_state == MessageState.DELETED
    raw.send(encode(QuerySm(sequence_number=15, message_id=keep, source_addr="123")))
    done = raw.read()
    assert done.message_state == MessageState.DELIVERED and len(done.final_date) == 16


def test_submit_multi_gives_each_destination_its_own_id_and_outcome() -> None:
    mix = scenario("10ms", extra="rules:\n  - match: {destination: '4479'}\n    receipt: {states: [{state: REJECTD, err: 9}]}\n")
    with SimulatorThread(loopback_config(control=False), scenario=mix) as running:
        from tests.smpp.test_server import RawClient
        from simulator.smpp.codec import encode
        from simulator.smpp.pdu import BindTransceiver, Destination, SubmitMulti

        raw = RawClient(running.smpp_port)
        assert raw.bind(BindTransceiver) == 0
        raw.send(encode(SubmitMulti(sequence_number=2, source_addr="123", registered_delivery=1, short_message=b"fan",
                                    dest_addresses=(Destination(1, 1, 1, "447700900001"), Destination(1, 1, 1, "447900900001")))))
        response = raw.read()
        assert response.command_status == 0 and response.unsuccess_sme == ()
        receipts = [raw.read() for _ in range(2)]
        outcomes = {r.source_addr: (r.tlv("message_state"), r.tlv("receipted_message_id")) for r in receipts}
        assert outcomes["447700900001"][0] == MessageState.DELIVERED
        assert outcomes["447900900001"][0] == MessageState.REJECTED
        assert outcomes["447700900001"][1] != outcomes["447900900001"][1]
        assert response.message_id in {o[1] for o in outcomes.values()}


def test_message_ids_do_not_repeat_across_restarts(tmp_path) -> None:
    seen: set[str] = set()
    for state_dir in (str(tmp_path), str(tmp_path), None, None):
        config = loopback_config(control=False)
        config.state_dir = state_dir
        with SimulatorThread(config, scenario=scenario("10ms")) as running:
            client = SmppTestClient(running.smpp_port, "acme", bind="transmitter")
            for _ in range(200):
                client.submit_nowait()
            assert client.wait_until(lambda: len(client.responses) == 200)
            ids = {r.message_id.decode() for r in client.responses}
            assert len(ids) == 200 and not ids & seen
            seen |= ids
            client.close()


def test_the_store_is_bounded_and_evicts_the_oldest() -> None:
    with SimulatorThread(loopback_config(control=False), scenario=scenario("10ms"), store_capacity=50) as running:
        client = SmppTestClient(running.smpp_port, "acme", bind="transmitter")
        for _ in range(120):
            client.submit_nowait()
        assert client.wait_until(lambda: len(client.responses) == 120)
        size, evicted, newest = running.call(lambda: (len(running.carrier.store), running.carrier.store.evicted,
                                                       running.carrier.store.get(client.responses[-1].message_id.decode())))
        assert size == 50 and evicted == 70 and newest is not None
        assert running.call(lambda: running.carrier.store.get(client.responses[0].message_id.decode())) is None
        client.close()


def test_a_long_message_missing_parts_fails_after_five_minutes_with_receipts(manual) -> None:
    client = SmppTestClient(manual.smpp_port, "acme")
    udh = bytes((5, 0, 3, 0x42, 3, 1))
    client.submit_nowait(text=udh + b"first part of three", esm_class=0x40, registered_delivery=1)
    client.submit_nowait(text=bytes((5, 0, 3, 0x42, 3, 3)) + b"third part", esm_class=0x40, registered_delivery=1)
    assert client.wait_until(lambda: len(client.responses) == 2)
    assert manual.call(lambda: len(manual.carrier.reassembler)) == 1
    advance(manual, 299, step=60)
    assert not client.delivered, "still waiting for part 2"
    advance(manual, 62, step=1)
    assert client.wait_until(lambda: len(client.delivered) == 2, timeout=5)
    assert {p.message_state for p in client.delivered} == {MessageState.UNDELIVERABLE}
    assert manual.call(lambda: len(manual.carrier.reassembler)) == 0, "nothing is kept for ever"
    history = manual.call(lambda: manual.carrier.store.get(client.responses[0].message_id.decode()).history)
    assert any(event == "incomplete" and "(2,)" in detail for _, event, detail in history)
    client.close()
