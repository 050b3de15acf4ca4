"""Tests for simulator.smpp.receipts: receipt text formatting, parsing and receipt-request rules."""

from __future__ import annotations

import calendar
import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.smpp.receipts import (
    INTERMEDIATE_STATES,
    ParsedReceipt,
    ReceiptFormat,
    ReceiptState,
    format_receipt,
    parse_receipt,
    receipt_requested,
    render_id,
    stat_word,
    state_from_word,
)
from simulator.smpp.times import format_receipt_date

SUBMIT = float(calendar.timegm((2024, 3, 5, 14, 7, 30)))
DONE = float(calendar.timegm((2024, 3, 5, 14, 8, 45)))
S = ReceiptState

# Written out from SMPP 3.4 §5.2.28 / 5.0, independently of the module.
EXPECTED_WORDS = {
    0: "SCHEDLD",
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
    9: "SKIPPED",
}


def test_message_state_values_and_words() -> None:
    assert {int(s): stat_word(s) for s in ReceiptState} == EXPECTED_WORDS
    assert all(len(w) == 7 for w in EXPECTED_WORDS.values())


@pytest.mark.parametrize("state", list(ReceiptState))
def test_state_from_word_short_long_and_any_case(state: ReceiptState) -> None:
    assert state_from_word(stat_word(state)) is state
    assert state_from_word(stat_word(state).lower()) is state
    assert state_from_word(state.name) is state
    assert state_from_word(state.name.capitalize()) is state


def test_state_from_word_long_names() -> None:
    assert state_from_word("DELIVERED") is S.DELIVERED
    assert state_from_word("undeliverable") is S.UNDELIVERABLE


def test_state_from_word_unknown_raises() -> None:
    with pytest.raises(ValueError, match="'DELIVERD'"):
        state_from_word("DELIVERD")


def test_is_final() -> None:
    assert {s for s in ReceiptState if not s.is_final} == {S.SCHEDULED, S.ENROUTE}
    assert S.ACCEPTED.is_final  # final per SMPP 3.4, though also used as an intermediate notification


def test_is_success_and_intermediate() -> None:
    assert {s for s in ReceiptState if s.is_success} == {S.DELIVERED, S.ACCEPTED}
    assert INTERMEDIATE_STATES == {S.ENROUTE, S.ACCEPTED}
    assert {s for s in ReceiptState if s.is_intermediate} == INTERMEDIATE_STATES


def test_no_receipt_when_not_requested() -> None:
    assert not any(receipt_requested(0, s) for s in ReceiptState)
    assert not any(receipt_requested(0x00, s, intermediate=True) for s in ReceiptState)


def test_receipt_on_any_final_outcome() -> None:
    wanted = {s for s in ReceiptState if receipt_requested(1, s)}
    assert wanted == set(ReceiptState) - {S.SCHEDULED, S.ENROUTE}


def test_failure_only_receipts() -> None:
    wanted = {s for s in ReceiptState if receipt_requested(2, s)}
    assert wanted == {S.EXPIRED, S.DELETED, S.UNDELIVERABLE, S.UNKNOWN, S.REJECTED, S.SKIPPED}
    assert not receipt_requested(2, S.DELIVERED)
    assert not receipt_requested(2, S.ACCEPTED)


def test_success_only_receipts_smpp50() -> None:
    assert {s for s in ReceiptState if receipt_requested(3, s)} == {S.DELIVERED, S.ACCEPTED}


def test_other_bits_do_not_change_final_receipt_choice() -> None:
    # 0x04 (SME ack) and 0x10 (intermediate) sit above bits 0-1.
    assert receipt_requested(0x12, S.UNDELIVERABLE)
    assert not receipt_requested(0x12, S.DELIVERED)
    assert not receipt_requested(0x10, S.DELIVERED)


def test_intermediate_notifications_need_bit_0x10() -> None:
    assert receipt_requested(0x10, S.ENROUTE, intermediate=True)
    assert receipt_requested(0x11, S.ACCEPTED, intermediate=True)
    assert not receipt_requested(0x01, S.ENROUTE, intermediate=True)
    assert not receipt_requested(0x10, S.DELIVERED, intermediate=True)


def test_canonical_receipt_exact() -> None:
    out = format_receipt(
        message_id="0123abcd",
        state=S.DELIVERED,
        error=0,
        submit_date=SUBMIT,
        done_date=DONE,
        text="Hello world, this is a long message",
    )
    assert out == (
        "id:0123abcd sub:001 dlvrd:001 submit date:2403051407 done date:2403051408"
        " stat:DELIVRD err:000 text:Hello world, this is"
    )


def test_variant_receipt_exact() -> None:
    fmt = ReceiptFormat(id_format="decimal", date_seconds=True, text_label="Text", empty_text="none")
    out = format_receipt(
        message_id="ff", state=S.UNDELIVERABLE, error=1234, submit_date=SUBMIT, done_date=DONE, text="", fmt=fmt
    )
    assert out == (
        "id:255 sub:001 dlvrd:000 submit date:240305140730 done date:240305140845"
        " stat:UNDELIV err:1234 Text:none"
    )


def test_dlvrd_defaults_and_override() -> None:
    def dlvrd(state: ReceiptState, delivered: int | None = None) -> str:
        out = format_receipt(
            message_id="1", state=state, error=0, submit_date=SUBMIT, done_date=DONE, text="", delivered=delivered
        )
        parsed = parse_receipt(out)
        assert parsed is not None
        return parsed.dlvrd

    assert dlvrd(S.DELIVERED) == "001"
    assert dlvrd(S.ACCEPTED) == "001"
    assert dlvrd(S.EXPIRED) == "000"
    assert dlvrd(S.ENROUTE) == "000"
    assert dlvrd(S.DELIVERED, delivered=2) == "002"


def test_text_chars_and_non_gsm_kept() -> None:
    fmt = ReceiptFormat(text_chars=5)
    out = format_receipt(message_id="1", state=S.DELIVERED, error=0, submit_date=SUBMIT, done_date=DONE, text="Привет мир", fmt=fmt)
    assert out.endswith(" text:Приве")


@pytest.mark.parametrize(
    ("message_id", "fmt", "expected"),
    [
        ("0123abcd", ReceiptFormat(), "0123abcd"),
        ("0123abcd", ReceiptFormat(id_format="decimal"), "19114957"),
        ("FFFFFFFFFFFFFFFF", ReceiptFormat(id_format="decimal"), "18446744073709551615"),
        ("10", ReceiptFormat(id_format="decimal"), "16"),
        ("0", ReceiptFormat(id_format="decimal"), "0"),
        ("3f2a-uuid", ReceiptFormat(id_format="decimal"), "3f2a-uuid"),
        ("", ReceiptFormat(id_format="decimal"), ""),
    ],
)
def test_render_id(message_id: str, fmt: ReceiptFormat, expected: str) -> None:
    assert render_id(message_id, fmt) == expected


def test_decimal_id_written_in_text() -> None:
    out = format_receipt(
        message_id="0123abcd", state=S.DELIVERED, error=0, submit_date=SUBMIT, done_date=DONE, text="x",
        fmt=ReceiptFormat(id_format="decimal"),
    )
    assert out.startswith("id:19114957 ")


@pytest.mark.parametrize(
    "kwargs", [{"id_format": "octal"}, {"text_label": "TEXT"}, {"text_chars": -1}]
)
def test_receipt_format_validates(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ReceiptFormat(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [{"submitted": -1}, {"delivered": -1}, {"error": -1}])
def test_negative_counts_rejected(kwargs: dict[str, int]) -> None:
    base: dict[str, object] = dict(message_id="1", state=S.DELIVERED, error=0, submit_date=SUBMIT, done_date=DONE, text="")
    base.update(kwargs)
    with pytest.raises(ValueError):
        format_receipt(**base)  # type: ignore[arg-type]


def test_receipt_format_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ReceiptFormat().text_chars = 5  # type: ignore[misc]


# --- parsing ---------------------------------------------------------------


def test_parse_canonical() -> None:
    parsed = parse_receipt(
        "id:0123abcd sub:001 dlvrd:001 submit date:2403051407 done date:2403051408"
        " stat:DELIVRD err:000 text:Hello world, this is"
    )
    assert parsed == ParsedReceipt(
        id="0123abcd", sub="001", dlvrd="001", submit_date="2403051407", done_date="2403051408",
        stat="DELIVRD", state=S.DELIVERED, err="000", text="Hello world, this is",
    )


def test_parse_lowercase_extra_spaces_missing_text() -> None:
    parsed = parse_receipt("  ID:42  SUB:1   dlvrd:0 Submit  Date:240305140730 done date:240305140845 stat:undeliv  err:005 ")
    assert parsed is not None
    assert (parsed.id, parsed.sub, parsed.dlvrd, parsed.stat, parsed.err, parsed.text) == ("42", "1", "0", "undeliv", "005", "")
    assert parsed.state is S.UNDELIVERABLE
    assert parsed.submit_date == "240305140730"
    assert parsed.done_date == "240305140845"


def test_parse_any_order_after_id_and_capital_text() -> None:
    parsed = parse_receipt("id:abc stat:EXPIRED err:001 Text:hi there done date:2403051408 sub:001 dlvrd:000 submit date:2403051407")
    assert parsed is not None
    assert parsed.state is S.EXPIRED
    assert parsed.text == "hi there"  # not last, so it ends where the next field starts
    assert parsed.done_date == "2403051408"
    assert parsed.submit_date == "2403051407"


def test_parse_underscore_date_keys() -> None:
    parsed = parse_receipt("id:1 sub:001 dlvrd:001 submit_date:2403051407 done_date:2403051408 stat:DELIVRD err:000")
    assert parsed is not None
    assert (parsed.submit_date, parsed.done_date) == ("2403051407", "2403051408")


def test_parse_text_containing_field_names() -> None:
    parsed = parse_receipt(
        "id:1 sub:001 dlvrd:000 submit date:2403051407 done date:2403051408 stat:REJECTD err:011 text:stat:DELIVRD err:0"
    )
    assert parsed is not None
    assert parsed.state is S.REJECTED
    assert parsed.err == "011"
    assert parsed.text == "stat:DELIVRD err:0"


def test_parse_unknown_stat_keeps_word() -> None:
    parsed = parse_receipt("id:1 sub:001 dlvrd:000 submit date:2403051407 done date:2403051408 stat:WEIRD err:000 text:")
    assert parsed is not None
    assert parsed.stat == "WEIRD"
    assert parsed.state is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello world",
        "id:123",  # no stat
        "text:hi id:1 stat:DELIVRD",  # does not start with id
        "myid:1 stat:DELIVRD",
    ],
)
def test_parse_non_receipt_is_none(text: str) -> None:
    assert parse_receipt(text) is None


receipt_ids = st.one_of(
    st.text(alphabet="0123456789abcdefABCDEF", min_size=1, max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40),
)
formats = st.builds(
    ReceiptFormat,
    id_format=st.sampled_from(["hex", "decimal"]),
    date_seconds=st.booleans(),
    text_label=st.sampled_from(["text", "Text"]),
    text_chars=st.integers(min_value=0, max_value=200),
    empty_text=st.sampled_from(["", "none"]),
    per_segment=st.booleans(),
)
# Message text that looks like receipt fields is the parser's hard case; random text almost never hits it.
tricky_text = st.lists(
    st.sampled_from([" ", "  ", "stat:", " stat:DELIVRD", " err:0", " id:", " Text:", "\n", "x", "done date:1"]) | st.text(max_size=5),
    max_size=20,
).map("".join)
epochs = st.floats(min_value=946_684_800, max_value=4_102_444_799, allow_nan=False)


@given(
    message_id=receipt_ids,
    state=st.sampled_from(list(ReceiptState)),
    error=st.integers(min_value=0, max_value=100_000),
    submit_date=epochs,
    done_date=epochs,
    text=st.text(max_size=200) | tricky_text,
    submitted=st.integers(min_value=0, max_value=5000),
    delivered=st.none() | st.integers(min_value=0, max_value=5000),
    fmt=formats,
)
def test_format_parse_round_trip(
    message_id: str,
    state: ReceiptState,
    error: int,
    submit_date: float,
    done_date: float,
    text: str,
    submitted: int,
    delivered: int | None,
    fmt: ReceiptFormat,
) -> None:
    out = format_receipt(
        message_id=message_id, state=state, error=error, submit_date=submit_date, done_date=done_date,
        text=text, submitted=submitted, delivered=delivered, fmt=fmt,
    )
    parsed = parse_receipt(out)
    assert parsed is not None
    expected_dlvrd = delivered if delivered is not None else (1 if state in (S.DELIVERED, S.ACCEPTED) else 0)
    assert parsed == ParsedReceipt(
        id=render_id(message_id, fmt),
        sub=f"{submitted:03d}",
        dlvrd=f"{expected_dlvrd:03d}",
        submit_date=format_receipt_date(submit_date, seconds=fmt.date_seconds),
        done_date=format_receipt_date(done_date, seconds=fmt.date_seconds),
        stat=EXPECTED_WORDS[int(state)],
        state=state,
        err=f"{error:03d}",
        text=text[: fmt.text_chars] or fmt.empty_text,
    )
    assert len(parsed.submit_date) == (12 if fmt.date_seconds else 10)
    assert f" {fmt.text_label}:" in out
