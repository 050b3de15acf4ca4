"""Receipt matching: TLV then text, early receipts parked, duplicates, orphans, missing, late, segments."""

from __future__ import annotations

from loadtests.receipts import parse_smpp_receipt
from loadtests.tracker import ReceiptTracker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(**kwargs):
    clock = Clock()
    finals, missing = [], []
    tracker = ReceiptTracker(clock=clock, on_final=lambda m, s, t: finals.append((m.ref, s, round(t, 3))),
                             on_missing=lambda m, t: missing.append(m.ref), **kwargs)
    return tracker, clock, finals, missing


def test_tlv_first_then_text_with_latency_from_the_submit():
    tracker, clock, finals, _ = make()
    a = tracker.sent("a" * 12, "k", 1)
    b = tracker.sent("b" * 12, "k", 1)
    tracker.accepted(a, "1A2B")
    tracker.accepted(b, "00FF")
    clock.now += 0.5
    assert tracker.receipt("DELIVRD", tlv_id="1a2b", text_id="ffff") == "matched"  # TLV wins over the text
    clock.now += 0.25
    assert tracker.receipt("UNDELIV", text_id="ff") == "matched"  # leading zeros and case differ
    assert finals == [("a" * 12, "DELIVRD", 0.5), ("b" * 12, "UNDELIV", 0.75)]
    assert (tracker.counts.by_tlv, tracker.counts.by_text, tracker.awaiting) == (1, 1, 0)


def test_decimal_id_in_text_matches_hex_id_from_submit_sm_resp():
    tracker, _, finals, _ = make()
    message = tracker.sent("c" * 12, "k", 1)
    tracker.accepted(message, "1a2b")
    assert tracker.receipt("DELIVRD", text_id=str(0x1A2B)) == "matched"
    assert finals[0][1] == "DELIVRD"


def test_early_receipt_is_parked_until_its_submit_sm_resp():
    tracker, clock, finals, _ = make()
    message = tracker.sent("d" * 12, "k", 1)
    clock.now += 0.010
    assert tracker.receipt("DELIVRD", tlv_id="77") == "parked"
    clock.now += 0.002
    tracker.accepted(message, "77")
    assert tracker.counts.early == 1 and tracker.counts.orphan == 0
    assert finals == [("d" * 12, "DELIVRD", 0.01)]  # timed at the receipt's arrival, not at the resp


def test_unclaimed_parked_receipt_becomes_an_orphan():
    tracker, clock, _, _ = make(park_time=1.0)
    assert tracker.receipt("DELIVRD", tlv_id="404") == "parked"
    clock.now += 2
    tracker.sweep()
    assert tracker.counts.orphan == 1


def test_duplicate_and_segment_receipts():
    tracker, _, finals, _ = make()
    single = tracker.sent("e" * 12, "k", 1)
    tracker.accepted(single, "10")
    long = tracker.sent("f" * 12, "k", 2)
    tracker.accepted(long, "20")
    tracker.accepted(long, "21")
    assert tracker.receipt("DELIVRD", tlv_id="10") == "matched"
    assert tracker.receipt("DELIVRD", tlv_id="10") == "duplicate"
    assert tracker.receipt("DELIVRD", tlv_id="20") == "matched"
    assert tracker.receipt("DELIVRD", tlv_id="21") == "segment"
    assert tracker.receipt("DELIVRD", tlv_id="21") == "duplicate"
    assert (len(finals), tracker.counts.duplicate, tracker.counts.segment) == (2, 2, 1)


def test_missing_then_late():
    tracker, clock, finals, missing = make(receipt_timeout=5.0)
    message = tracker.sent("0" * 12, "k", 1)
    tracker.accepted(message, "99")
    clock.now += 6
    tracker.sweep()
    assert missing == ["0" * 12] and tracker.counts.missing == 1
    assert tracker.receipt("DELIVRD", tlv_id="99") == "late"
    assert (tracker.counts.missing, tracker.counts.late, tracker.counts.received) == (0, 1, 1)


def test_refused_messages_expect_no_receipt_and_finish_counts_the_rest():
    tracker, _, _, missing = make()
    refused = tracker.sent("1" * 12, "k", 1)
    tracker.refused(refused)
    waiting = tracker.sent("2" * 12, "k", 1)
    tracker.accepted(waiting, "5")
    tracker.finish()
    assert missing == ["2" * 12]
    assert (tracker.counts.failed, tracker.counts.missing, tracker.awaiting) == (1, 1, 0)


def test_receipts_by_reference_and_carrier_acks():
    acks = []
    tracker = ReceiptTracker(on_ack=lambda m, t: acks.append(m.ref))
    message = tracker.sent("3" * 12, "k", 1)
    tracker.accepted(message, None)
    tracker.carrier_ack("3" * 12)
    assert tracker.receipt("ENROUTE", ref="3" * 12) == "intermediate"
    assert tracker.receipt("DELIVRD", ref="3" * 12) == "matched"
    assert acks == ["3" * 12] and tracker.counts.by_ref == 1


def test_smpp_receipt_parsing():
    text = b"id:0A1B sub:001 dlvrd:001 submit date:2401011200 done date:2401011200 stat:UNDELIV err:001 text:x"
    assert parse_smpp_receipt(text, None, None).text_id == "0A1B"
    assert parse_smpp_receipt(text, None, None).state == "UNDELIV"
    with_tlv = parse_smpp_receipt(text, b"a1b", 2)
    assert (with_tlv.tlv_id, with_tlv.state) == ("a1b", "DELIVRD")  # message_state beats stat:
    assert parse_smpp_receipt(b"hello there", None, None) is None
