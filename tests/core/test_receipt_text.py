"""A receipt quotes the start of its message's text, decoded from just enough octets of each part."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simulator.core.records import Message, MessageState, Receipt, quoted_text
from simulator.smpp import text as sms_text

GSM_CHARS = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ!\"#¤%&'()*+,-./0123456789:;<=>?¡ABCXYZÄÖÑÜ§¿abcxyzäöñüà^{}\\[~]|€"


def _message(payload: bytes, coding: int) -> Message:
    return Message(id="1", system_id="a", channel="smpp", source="1", destination="2", data_coding=coding,
                   payload=payload, submitted_at=0.0)


@given(st.lists(st.one_of(st.tuples(st.text(GSM_CHARS, max_size=120), st.just(0)),
                          st.tuples(st.text(max_size=90), st.just(8)),
                          st.tuples(st.binary(max_size=200).map(lambda b: b.decode("latin-1")), st.just(3))),
                min_size=1, max_size=4))
def test_quoted_text_is_the_start_of_the_whole_text(parts: list[tuple[str, int]]) -> None:
    messages = [_message(sms_text.encode(text, coding), coding) for text, coding in parts]
    whole = "".join(sms_text.decode(m.payload, m.data_coding) for m in messages)
    assert quoted_text(messages) == whole[:20]


def test_escapes_and_surrogates_near_the_cut() -> None:
    gsm = _message(sms_text.encode("€" * 45, 0), 0)  # 90 octets, every character an escape pair
    assert quoted_text([gsm]) == "€" * 20
    ucs2 = _message(sms_text.encode("😀" * 30, 8), 8)  # surrogate pairs: 4 octets a character
    assert quoted_text([ucs2]) == "😀" * 20


def test_a_receipt_without_a_quote_of_its_own_quotes_its_message() -> None:
    message = _message(sms_text.encode("Ünicode is fine, and so is a long text", 0), 0)
    assert Receipt(message, MessageState.DELIVERED, 0, 0.0).text == "Ünicode is fine, and"
    assert Receipt(message, MessageState.DELIVERED, 0, 0.0, quote="the whole message").text == "the whole message"
