"""Email-to-SMS: aiosmtplib mails arrive as SMS on an SMPP bind; replies come back as mail; refusals at MAIL/RCPT."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from email.message import EmailMessage

import aiosmtplib
import pytest

from simulator.config import AccountConfig, SmtpConfig
from simulator.core.scenario import parse_scenario
from simulator.pytest_plugin import SmppTestClient, default_config
from simulator.smtp.gateway import clean_body

DOMAIN = "sms.example.test"
SENDER_NUMBER = "447700900000"

SCENARIO = """
defaults:
  receipt: {states: [{state: DELIVRD}], delay: 20ms}
rules:
  - name: blocked for mail only
    match: {channel: smtp, destination: "4477005555"}
    submit: {status: 0x45}
"""


@pytest.fixture
def carrier_sim_scenario():
    return parse_scenario(SCENARIO)


@pytest.fixture
def carrier_sim_config(smtp_sink):
    config = default_config()
    config.accounts = [AccountConfig(system_id="acme", numbers=["4479"])]
    config.providers.smtp = SmtpConfig(
        port=0, domain=DOMAIN, sender_number=SENDER_NUMBER, relay_host="127.0.0.1", relay_port=smtp_sink.port,
        allowed_senders=["alice@example.com", "@trusted.example"],
        strip=[r"(?ms)^-- ?$.*", r"(?ims)^sent from my \w+.*", r"(?ims)^CONFIDENTIALITY:.*"])
    return config


def mail(sender: str, to: str | list[str], body: str, subject: str = "SMS") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to if isinstance(to, str) else ", ".join(to)
    message["Subject"] = subject
    message.set_content(body)
    return message


SIGNED = """Running late, there in 10.

--
Alice Smith | ACME Corp
+44 20 7946 0000
"""


@pytest.mark.asyncio
async def test_mail_arrives_as_sms_on_an_smpp_bind_and_the_reply_is_emailed_back(smtp_client, smpp_client, smtp_sink):
    esme = await asyncio.to_thread(smpp_client, "acme")
    errors, answer = await aiosmtplib.send(mail("Alice <alice@example.com>", f"447900123456@{DOMAIN}", SIGNED),
                                           **smtp_client.settings)
    assert errors == {} and answer.startswith("2.0.0 Queued as")

    [pdu] = await asyncio.to_thread(esme.deliveries)
    assert SmppTestClient.text(pdu) == "Running late, there in 10."  # the signature stripped
    assert pdu.source_addr in (SENDER_NUMBER, SENDER_NUMBER.encode())
    assert pdu.destination_addr in ("447900123456", b"447900123456")

    response = await asyncio.to_thread(esme.submit, "447900123456", SENDER_NUMBER, "OK, see you soon")
    assert response.status == 0
    [reply] = await asyncio.to_thread(smtp_sink.wait_for)
    assert reply["To"] == "alice@example.com"
    assert reply["From"] == f"447900123456@{DOMAIN}"
    assert reply.get_content().strip() == "OK, see you soon"
    assert smtp_sink.envelopes[0] == (f"447900123456@{DOMAIN}", ["alice@example.com"])


@pytest.mark.asyncio
async def test_a_virtual_handsets_reply_comes_back_as_mail(carrier_sim, smtp_client, smtp_sink):
    await aiosmtplib.send(mail("bob@trusted.example", f"+447700900123@{DOMAIN}", "Your table is ready"),
                          **smtp_client.settings)
    for _ in range(200):
        if await asyncio.to_thread(carrier_sim.handset_inbox, "447700900123"):
            break
        await asyncio.sleep(0.02)
    assert await asyncio.to_thread(carrier_sim.handset_inbox, "447700900123") == ["Your table is ready"]
    await asyncio.to_thread(carrier_sim.handset_send, "447700900123", SENDER_NUMBER, "On my way")
    [reply] = await asyncio.to_thread(smtp_sink.wait_for)
    assert reply["To"] == "bob@trusted.example" and reply.get_content().strip() == "On my way"


@pytest.mark.asyncio
async def test_bad_senders_and_recipients_are_refused_with_smtp_codes(smtp_client):
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as sender:
        await aiosmtplib.send(mail("mallory@evil.example", f"447900123456@{DOMAIN}", "hi"), **smtp_client.settings)
    assert sender.value.code == 550

    for recipient in ("447900123456@elsewhere.example", f"not-a-number@{DOMAIN}", f"12@{DOMAIN}"):
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await aiosmtplib.send(mail("alice@example.com", recipient, "hi"), **smtp_client.settings)
        assert [error.code for error in refused.value.recipients] == [550], recipient

    errors, _ = await aiosmtplib.send(mail("alice@example.com", [f"447900123456@{DOMAIN}", "x@nowhere.example"], "hi"),
                                      **smtp_client.settings)
    assert list(errors) == ["x@nowhere.example"] and errors["x@nowhere.example"].code == 550

    with pytest.raises(aiosmtplib.SMTPDataError) as empty:
        await aiosmtplib.send(mail("alice@example.com", f"447900123456@{DOMAIN}", "\n-- \nonly a signature\n"),
                              **smtp_client.settings)
    assert empty.value.code == 554


@pytest.mark.asyncio
async def test_the_scenario_decides_for_mail_too(smtp_client):
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await aiosmtplib.send(mail("alice@example.com", f"447700555501@{DOMAIN}", "blocked"), **smtp_client.settings)
    assert refused.value.code == 554 and "0x00000045" in refused.value.message


def test_the_blocking_helper_sends_too(carrier_sim, smtp_client):
    assert smtp_client.send("alice@example.com", "447700900124", "plain smtplib") == {}
    assert smtp_client.address("+447700900124") == f"447700900124@{DOMAIN}"


def _parse(raw: str) -> email.message.EmailMessage:
    return email.message_from_string(raw, policy=email.policy.default)


def test_clean_body_rules():
    rules = [re.compile(p) for p in SmtpConfig().strip]
    plain = _parse("Subject: Hi\n\nLine one\n\n\n\nLine two   \nSent from my iPhone\n")
    assert clean_body(plain, rules, include_subject=False, max_length=1600) == "Line one\n\nLine two"
    assert clean_body(plain, rules, include_subject=True, max_length=1600) == "Hi: Line one\n\nLine two"
    assert clean_body(plain, rules, include_subject=False, max_length=4) == "Line"
    html = _parse("Subject: x\nContent-Type: text/html\n\n<p>Hello <b>there</b></p><br>Bye&amp;thanks"
                  "<p>Disclaimer: legal text</p>")
    assert clean_body(html, rules, include_subject=False, max_length=1600) == "Hello there\n\nBye&thanks"
    multipart = _parse('Subject: m\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b"\n\n'
                       '--b\nContent-Type: text/html\n\n<p>html</p>\n--b\nContent-Type: text/plain\n\nplain part\n'
                       '--b--\n')
    assert clean_body(multipart, rules, include_subject=False, max_length=1600) == "plain part"
