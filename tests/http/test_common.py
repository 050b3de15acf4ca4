"""Callback helpers against their reference implementations: form encoding and Twilio's signature."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from simulator.http.common import form_encode
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

