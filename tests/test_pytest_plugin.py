"""The pytest plugin's fixtures in plain, asyncio (pytest-asyncio) and trio (pytest-trio) tests, and its entry point."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time

import aiosmtplib
import pytest
import trio
from twilio.request_validator import RequestValidator

from simulator.pytest_plugin import TWILIO_AUTH_TOKEN, SmppTestClient


def wait_inbox(carrier_sim, number: str, count: int = 1, timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(inbox := carrier_sim.handset_inbox(number)) < count:
        assert time.monotonic() < deadline, inbox
        time.sleep(0.02)
    return inbox


def test_plain_test_with_twilio_smpp_and_smtp_clients(carrier_sim, twilio_client, smpp_client, smtp_client,
                                                      webhook_receiver):
    url = webhook_receiver.url("/status")
    message = twilio_client.messages.create(to="+447700900001", from_="+15005550006", body="plain",
                                            status_callback=url)
    requests = webhook_receiver.wait_for("/status", 3)
    assert [r.form["MessageStatus"] for r in requests] == ["sending", "sent", "delivered"]
    assert all(r.form["MessageSid"] == message.sid for r in requests)
    assert RequestValidator(TWILIO_AUTH_TOKEN).validate(url, requests[-1].form,
                                                        requests[-1].headers["x-twilio-signature"])

    esme = smpp_client("plain-esme")
    assert esme.submit("12345", "447700900002", "via smpp", registered_delivery=1).status == 0
    [receipt] = esme.deliveries()
    assert "stat:DELIVRD" in SmppTestClient.text(receipt)

    smtp_client.send("someone@example.com", "447700900003", "via smtp")
    assert wait_inbox(carrier_sim, "447700900001") == ["plain"]
    assert wait_inbox(carrier_sim, "447700900003") == ["via smtp"]


@pytest.mark.asyncio
async def test_asyncio_test(carrier_sim, twilio_client, smtp_client, smtp_sink):
    await asyncio.to_thread(carrier_sim.relay_replies_to, "127.0.0.1", smtp_sink.port)
    errors, _ = await aiosmtplib.send(smtp_client.message("amy@example.com", "447700900010", "from asyncio"),
                                      **smtp_client.settings)
    assert errors == {}
    assert await asyncio.to_thread(wait_inbox, carrier_sim, "447700900010") == ["from asyncio"]
    domain_number = carrier_sim.simulator.config.providers.smtp.sender_number
    await asyncio.to_thread(carrier_sim.handset_send, "447700900010", domain_number, "reply by mail")
    [mail] = await asyncio.to_thread(smtp_sink.wait_for)
    assert mail["To"] == "amy@example.com" and mail.get_content().strip() == "reply by mail"

    created = await asyncio.to_thread(twilio_client.messages.create, to="+447700900011", from_="+15005550006",
                                      body="asyncio twilio")
    assert created.status == "queued"


@pytest.mark.trio
async def test_trio_test(carrier_sim, twilio_client, smpp_client, webhook_receiver):
    url = webhook_receiver.url("/trio")
    created = await trio.to_thread.run_sync(
        lambda: twilio_client.messages.create(to="+447700900020", from_="+15005550006", body="trio",
                                              status_callback=url))
    requests = await trio.to_thread.run_sync(webhook_receiver.wait_for, "/trio", 3)
    assert requests[-1].form["MessageStatus"] == "delivered" and requests[-1].form["MessageSid"] == created.sid

    esme = await trio.to_thread.run_sync(smpp_client, "trio-esme")
    response = await trio.to_thread.run_sync(esme.submit, "12345", "447700900021", "trio smpp")
    assert response.status == 0
    fetched = await trio.to_thread.run_sync(lambda: twilio_client.messages(created.sid).fetch())
    assert fetched.status == "delivered"


def test_the_plugin_loads_from_its_entry_point(tmp_path):
    """A fresh pytest run with no conftest gets the fixtures: pip's pytest11 entry point registers the plugin."""
    (tmp_path / "test_uses_plugin.py").write_text(textwrap.dedent("""
        def test_sends(twilio_client, carrier_sim):
            message = twilio_client.messages.create(to="+447700900030", from_="+15005550006", body="from a fresh run")
            assert message.status == "queued"
            assert carrier_sim.base_url.startswith("http://127.0.0.1:")
    """))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                          str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
