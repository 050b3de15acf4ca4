"""HTTP helpers against their reference implementations: form encoding and parsing, JSON, Twilio's signature."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from simulator.http.common import dumps, form_encode, parse_form
from simulator.http.webhooks import twilio_signature

class MultiDict(dict[str, list[str]]):
    """Repeated form fields the way Flask hands them to RequestValidator (it calls getall)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


pairs = st.lists(st.tuples(st.text(max_size=12), st.text(max_size=20)), max_size=12)


@given(pairs)
def test_form_encode_is_urlencode(params: list[tuple[str, str]]) -> None:
    assert form_encode(params) == urlencode(params)
    assert form_encode(params) == urlencode(params)  # the second time from the quoting cache


@given(st.text(min_size=1, max_size=10), st.text(max_size=40), pairs)
def test_twilio_signature_is_what_twilio_python_validates(token: str, url: str, params: list[tuple[str, str]]) -> None:
    # Repeated names with repeated values included: RequestValidator de-duplicates them too.
    params = params + params[:2]
    grouped = MultiDict()
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    assert twilio_signature(token, url, params) == RequestValidator(token).compute_signature(url, grouped)


# Bodies as clients write them, and bodies nobody should write: stray separators, bare names,
# malformed or non-UTF-8 escapes, '+' for spaces.
form_text = st.text(st.sampled_from("ab=&+%20%2B%zz%e2%82%ac%ff;é\x00 "), max_size=40)


@given(st.one_of(form_text, pairs.map(urlencode)))
def test_parse_form_is_parse_qsl(text: str) -> None:
    body = text.encode("utf-8")
    assert parse_form(body) == parse_qsl(text, keep_blank_values=True, max_num_fields=2000)


def test_parse_form_gives_up_on_too_many_fields_as_parse_qsl_would() -> None:
    assert len(parse_form(b"&".join([b"a=1"] * 2000))) == 2000
    assert parse_form(b"&".join([b"a=1"] * 2001)) == []


def test_parse_form_reads_a_body_that_is_not_utf8_as_latin1() -> None:
    assert parse_form(b"Body=caf\xe9&To=%2B1555") == [("Body", "café"), ("To", "+1555")]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_dumps_writes_what_the_standard_library_writes(value) -> None:
    written = dumps(value)
    try:
        expected = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        expected = json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    assert json.loads(written) == json.loads(expected)
    if not _has_float(value):  # msgspec and repr() may spell one float differently (1e+16, 1e16)
        assert written == expected


def test_dumps_falls_back_for_what_msgspec_refuses() -> None:
    assert dumps({"big": 2**70}) == b'{"big":1180591620717411303424}'
    assert dumps({"text": "\ud800"}) == b'{"text":"\\ud800"}'
    assert dumps({1: "a"}) == b'{"1":"a"}'


def _has_float(value) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    return False
