"""The SMPP server on real sockets, driven by smpplib: binds, rules, window, throughput, TLS and hostile input."""

from __future__ import annotations

import datetime
import os
import random
import select
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

import pytest
import smpplib.client
import smpplib.consts
import smpplib.exceptions

from simulator.config import AccountConfig, TlsConfig
from simulator.core.scenario import parse_scenario
from simulator.smpp.codec import HEADER_SIZE, decode, encode
from simulator.smpp.pdu import (
    PDU_CLASSES,
    REGISTRY,
    RESPONSE_BIT,
    BindTransmitter,
    CommandId,
    Destination,
    EnquireLink,
    GenericNack,
    QuerySm,
    SubmitMulti,
    SubmitSm,
)
from simulator.smpp.status import Status
from simulator.testing import SimulatorThread, SmppTestClient, loopback_config
from tests.conftest import happy_scenario


def accounts(**overrides) -> list[AccountConfig]:
    return [AccountConfig(system_id="acme", password="secret", **overrides)]


class RawClient:
    """A bare socket speaking SMPP, for input no real client would send."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle stall between two small writes
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self, timeout: float = 2.0):
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buffer) >= 4:
                length = struct.unpack_from(">I", self.buffer)[0]
                if len(self.buffer) >= length:
                    frame, self.buffer = self.buffer[:length], self.buffer[length:]
                    return decode(frame)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], remaining)
            if ready:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return None
                self.buffer += chunk

    def bind(self, cls=BindTransmitter, **fields) -> int:
        fields.setdefault("system_id", "acme")
        fields.setdefault("password", "secret")
        self.send(encode(cls(sequence_number=1, **fields)))
        return self.read().command_status

    def closed(self, timeout: float = 2.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except TimeoutError:  # before OSError, its base class: a timeout means the connection is still open
            return False
        except OSError:
            return True

    def close(self) -> None:
        self.sock.close()


# ---------------------------------------------------------------------------- binds


@pytest.mark.parametrize("kind", ["transmitter", "receiver", "transceiver"])
def test_each_bind_type_binds_and_unbinds(sim, kind: str) -> None:
    with SmppTestClient(sim.smpp_port, "acme", bind=kind) as client:
        response = client.bind_response
        assert response.status == 0
        assert response.command == f"bind_{kind}_resp"
        assert response.system_id == b"carrier-sim"
        binds = sim.call(lambda: [(c.session.system_id, c.session.bind_type.value)
                                  for c in sim.simulator.smpp.binds()])
        assert binds == [("acme", kind)]
        client.unbind()
        assert client.client.state == smpplib.consts.SMPP_CLIENT_STATE_OPEN


def test_transmitter_submits_and_gets_distinct_message_ids(sim) -> None:
    with SmppTestClient(sim.smpp_port, "acme", bind="transmitter") as client:
        for n in range(20):
            client.submit_nowait(text=b"message %d" % n)
        assert client.wait_until(lambda: len(client.responses) == 20)
        ids = [r.message_id for r in client.responses]
        assert all(r.status == 0 for r in client.responses) and len(set(ids)) == 20


def test_any_credentials_bind_when_no_accounts_are_configured(sim) -> None:
    raw = RawClient(sim.smpp_port)
    assert raw.bind(system_id="whoever", password="anything") == Status.ESME_ROK
    raw.close()


@pytest.fixture
def strict_sim():
    config = loopback_config(control=False, accounts=[
        AccountConfig(system_id="acme", password="secret", max_binds=2),
        AccountConfig(system_id="txonly", password="pw", bind_types=["transmitter"]),
    ])
    with SimulatorThread(config, scenario=happy_scenario()) as running:
        yield running


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [("nobody", "secret", Status.ESME_RINVSYSID), ("acme", "wrong", Status.ESME_RINVPASWD)],
)
def test_auth_failure_gets_its_status_then_the_connection_closes(strict_sim, system_id, password, status) -> None:
    raw = RawClient(strict_sim.smpp_port)
    assert raw.bind(system_id=system_id, password=password) == status
    assert raw.closed()


def test_smpplib_sees_auth_failure_as_its_pdu_error(strict_sim) -> None:
    client = smpplib.client.Client("127.0.0.1", strict_sim.smpp_port, timeout=5)
    client.connect()
    with pytest.raises(smpplib.exceptions.PDUError) as error:
        client.bind_transmitter(system_id="acme", password="nope")
    assert error.value.args[1] == Status.ESME_RINVPASWD
    client.disconnect()


def test_bind_type_not_allowed_and_max_binds(strict_sim) -> None:
    raw = RawClient(strict_sim.smpp_port)
    from simulator.smpp.pdu import BindReceiver

    assert raw.bind(BindReceiver, system_id="txonly", password="pw") == Status.ESME_RBINDFAIL
    first, second, third = (RawClient(strict_sim.smpp_port) for _ in range(3))
    assert first.bind() == 0 and second.bind() == 0
    assert third.bind() == Status.ESME_RBINDFAIL, "max_binds is 2"
    first.close()
    time.sleep(0.2)
    fourth = RawClient(strict_sim.smpp_port)
    assert fourth.bind() == 0, "a freed bind slot can be used again"


def test_first_pdu_must_be_bind_over_the_wire(sim) -> None:
    raw = RawClient(sim.smpp_port)
    raw.send(encode(EnquireLink(sequence_number=3)))
    answer = raw.read()
    assert answer.command_status == Status.ESME_RINVBNDSTS and answer.sequence_number == 3
    assert raw.closed()


def test_transceiver_with_33_is_refused_and_33_transmitter_gets_short_ids_and_no_tlvs(sim) -> None:
    from simulator.smpp.pdu import BindTransceiver

    raw = RawClient(sim.smpp_port)
    assert raw.bind(BindTransceiver, interface_version=0x33) == Status.ESME_RBINDFAIL
    legacy = RawClient(sim.smpp_port)
    legacy.send(encode(BindTransmitter(sequence_number=1, system_id="old", password="x", interface_version=0x33)))
    response = legacy.read()
    assert response.command_status == 0 and response.tlvs == {}
    legacy.send(encode(SubmitSm(sequence_number=2, destination_addr="447700900001", short_message=b"hi")))
    submit_resp = legacy.read()
    assert submit_resp.command_status == 0 and len(submit_resp.message_id) <= 8
    int(submit_resp.message_id, 16)


def test_receiver_bind_may_not_submit(sim) -> None:
    raw = RawClient(sim.smpp_port)
    from simulator.smpp.pdu import BindReceiver

    assert raw.bind(BindReceiver) == 0
    raw.send(encode(SubmitSm(sequence_number=5, destination_addr="447700900001")))
    answer = raw.read()
    assert answer.command_id == CommandId.SUBMIT_SM_RESP and answer.command_status == Status.ESME_RINVBNDSTS


def test_already_bound_is_refused_without_dropping_the_session(sim) -> None:
    raw = RawClient(sim.smpp_port)
    assert raw.bind() == 0
    raw.send(encode(BindTransmitter(sequence_number=2, system_id="acme", password="secret")))
    assert raw.read().command_status == Status.ESME_RALYBND
    raw.send(encode(EnquireLink(sequence_number=3)))
    assert raw.read().command_id == CommandId.ENQUIRE_LINK_RESP


def test_server_sends_enquire_link_when_idle_and_drops_an_unanswering_bind() -> None:
    config = loopback_config(control=False, enquire_link_interval=1.0, enquire_link_timeout=1.0)
    with SimulatorThread(config, scenario=happy_scenario()) as running:
        raw = RawClient(running.smpp_port)
        assert raw.bind() == 0
        probe = raw.read(timeout=4)
        assert probe is not None and probe.command_id == CommandId.ENQUIRE_LINK
        raw.send(encode(probe.response()))
        second = raw.read(timeout=4)
        assert second is not None and second.command_id == CommandId.ENQUIRE_LINK
        assert raw.closed(timeout=5), "an unanswered enquire_link drops the bind"


def test_query_sm_and_submit_multi(sim) -> None:
    raw = RawClient(sim.smpp_port)
    assert raw.bind() == 0
    raw.send(encode(SubmitMulti(sequence_number=2, source_addr="12345", short_message=b"hi all", dest_addresses=(
        Destination(1, 1, 1, "447700900001"), Destination(1, 1, 1, "447700900002"), Destination(2, 0, 0, "friends"),
    ))))
    response = raw.read()
    assert response.command_id == CommandId.SUBMIT_MULTI_RESP and response.command_status == 0
    assert [(u.address, u.error_status) for u in response.unsuccess_sme] == [("friends", Status.ESME_RCNTSUBDL)]
    time.sleep(0.2)
    raw.send(encode(QuerySm(sequence_number=3, message_id=response.message_id, source_addr="12345")))
    query = raw.read()
    assert query.message_id == response.message_id and query.message_state == 2  # DELIVERED after 20 ms
    raw.send(encode(QuerySm(sequence_number=4, message_id="nope", source_addr="12345")))
    assert raw.read().command_status == Status.ESME_RQUERYFAIL


# ---------------------------------------------------------------------------- limits


def test_window_of_5_refuses_the_sixth_outstanding_submit() -> None:
    slow = parse_scenario("defaults:\n  submit:\n    latency: 1s\n  receipt:\n    states: [{state: DELIVRD}]\n")
    config = loopback_config(control=False, accounts=accounts(window=5), window_status=Status.ESME_RTHROTTLED)
    with SimulatorThread(config, scenario=slow) as running:
        client = SmppTestClient(running.smpp_port, "acme", bind="transmitter")
        sent = [client.submit_nowait(text=b"n%d" % n) for n in range(6)]
        assert client.wait_until(lambda: len(client.responses) >= 1, timeout=0.8)
        first = client.responses[0]
        assert first.sequence == sent[5].sequence and first.status == Status.ESME_RTHROTTLED
        assert client.wait_until(lambda: len(client.responses) == 6, timeout=5)
        assert all(r.status == 0 for r in client.responses[1:])
        client.close()


def test_throughput_limit_of_50_tps_accepts_about_50_per_second() -> None:
    config = loopback_config(control=False, accounts=accounts(tps=50), window=0)
    with SimulatorThread(config, scenario=happy_scenario()) as running:
        client = SmppTestClient(running.smpp_port, "acme", bind="transmitter")
        start = time.monotonic()
        for n in range(1000):  # 200/s for 5 s
            target = start + n / 200
            while time.monotonic() < target:
                time.sleep(max(0.0, target - time.monotonic()))
            client.submit_nowait(text=b"x")
        elapsed = time.monotonic() - start
        assert client.wait_until(lambda: len(client.responses) == 1000, timeout=10)
        accepted = sum(r.status == 0 for r in client.responses)
        throttled = sum(r.status == Status.ESME_RTHROTTLED for r in client.responses)
        assert accepted + throttled == 1000
        rate = accepted / elapsed
        assert 45 <= rate <= 55, f"accepted {accepted} in {elapsed:.2f}s = {rate:.1f}/s"
        client.close()


def test_per_bind_limit_is_separate_from_the_account_limit() -> None:
    config = loopback_config(control=False, accounts=accounts(tps_per_bind=5, throttle_status=Status.ESME_RMSGQFUL))
    with SimulatorThread(config, scenario=happy_scenario()) as running:
        a, b = (SmppTestClient(running.smpp_port, "acme", bind="transmitter") for _ in range(2))
        for _ in range(10):
            a.submit_nowait()
            b.submit_nowait()
        assert a.wait_until(lambda: len(a.responses) == 10) and b.wait_until(lambda: len(b.responses) == 10)
        for client in (a, b):
            statuses = [r.status for r in client.responses]
            assert 1 <= statuses.count(0) <= 3, statuses  # a burst of max(1, 5/10)... per bind
            assert set(statuses) <= {0, Status.ESME_RMSGQFUL}
            client.close()


# ---------------------------------------------------------------------------- hostile input


def _random_pdu(rng: random.Random) -> bytes:
    """A valid PDU of a random request type, then mutated in one of several ways."""
    cls = rng.choice([c for c in PDU_CLASSES if c.command_id not in (CommandId.UNBIND,)])
    fields = {}
    for spec in cls.BODY:
        if spec.kind == "cstr":
            fields[spec.name] = "" if spec.name in ("schedule_delivery_time", "validity_period", "final_date") else \
                "".join(rng.choice("0123456789abc") for _ in range(rng.randint(0, spec.max_length - 1)))
        elif spec.kind == "int8":
            fields[spec.name] = rng.randint(0, 255)
        elif spec.kind == "sm":
            fields[spec.name] = rng.randbytes(rng.randint(0, 160))
        elif spec.kind == "dests":
            fields[spec.name] = (Destination(1, 1, 1, "4477009%05d" % rng.randint(0, 99999)),)
    wire = bytearray(encode(cls(sequence_number=0, **fields)))
    mutation = rng.randint(0, 6)
    if mutation == 1 and len(wire) > HEADER_SIZE:  # flip body bytes
        for _ in range(rng.randint(1, 5)):
            wire[rng.randrange(HEADER_SIZE, len(wire))] = rng.randint(0, 255)
    elif mutation == 2:  # truncate the body
        del wire[rng.randint(HEADER_SIZE, len(wire)):]
    elif mutation == 3:  # junk appended
        wire += rng.randbytes(rng.randint(1, 40))
    elif mutation == 4:  # an unknown command id
        struct.pack_into(">I", wire, 4, rng.choice([0x0A, 0x20, 0x1FF, 0x7FFFFFFF, rng.getrandbits(31)]))
    elif mutation == 5:  # pure random body
        wire = wire[:HEADER_SIZE] + rng.randbytes(rng.randint(0, 200))
    struct.pack_into(">I", wire, 0, len(wire))
    if mutation == 6:  # a command_length that cannot be right
        struct.pack_into(">I", wire, 0, rng.choice([0, 1, 15, 2**31, 0xFFFFFFFF]))
        wire = wire[:HEADER_SIZE]
    return bytes(wire)


def test_ten_thousand_random_and_mutated_pdus_never_break_the_server(sim) -> None:
    rng = random.Random(20261128)
    stop = threading.Event()
    bystander_errors: list[str] = []
    bystander_ok = [0]

    def bystander() -> None:
        client = SmppTestClient(sim.smpp_port, "bystander", bind="transmitter")
        try:
            while not stop.is_set():
                before = len(client.responses)
                client.submit_nowait(text=b"still here")
                if not client.wait_until(lambda: len(client.responses) > before, timeout=3):
                    bystander_errors.append("no submit_sm_resp within 3 s")
                    return
                if client.responses[-1].status != 0:
                    bystander_errors.append(f"status {client.responses[-1].status}")
                bystander_ok[0] += 1
                time.sleep(0.01)
        finally:
            client.close()

    thread = threading.Thread(target=bystander, daemon=True)
    thread.start()
    raw = RawClient(sim.smpp_port)
    assert raw.bind(system_id="fuzzer") == 0
    answered = silent = 0
    for sequence in range(2, 10_002):
        wire = bytearray(_random_pdu(rng))
        struct.pack_into(">I", wire, 12, sequence)
        length, command_id = struct.unpack_from(">II", wire)
        raw.send(bytes(wire))
        if HEADER_SIZE <= length <= 70_000 and command_id & RESPONSE_BIT:
            # A response is never answered: prove it by the next enquire_link's answer coming first.
            raw.send(encode(EnquireLink(sequence_number=sequence)))
            answer = raw.read()
            assert answer is not None and answer.command_id == CommandId.ENQUIRE_LINK_RESP
            assert answer.sequence_number == sequence
            silent += 1
            continue
        answer = raw.read()
        assert answer is not None, f"no answer to PDU #{sequence}: {bytes(wire[:32]).hex()}"
        assert answer.sequence_number == sequence
        if not HEADER_SIZE <= length <= 70_000:
            assert isinstance(answer, GenericNack) and answer.command_status == Status.ESME_RINVCMDLEN
        elif command_id not in REGISTRY:
            assert isinstance(answer, GenericNack) and answer.command_status == Status.ESME_RINVCMDID
        else:
            expected = (command_id | RESPONSE_BIT, CommandId.GENERIC_NACK)
            assert answer.command_id in expected, f"{answer} for command 0x{command_id:08X}"
        answered += 1
    stop.set()
    thread.join(10)
    assert answered + silent == 10_000 and silent > 100
    assert not bystander_errors and bystander_ok[0] > 10
    raw.send(encode(SubmitSm(sequence_number=1, destination_addr="447700900001", short_message=b"ok")))
    assert raw.read().command_status == 0, "the fuzzed session itself still works"


def test_a_partial_pdu_is_nacked_after_its_timeout_and_the_session_lives() -> None:
    config = loopback_config(control=False, partial_pdu_timeout=0.5)
    with SimulatorThread(config, scenario=happy_scenario()) as running:
        raw = RawClient(running.smpp_port)
        assert raw.bind() == 0
        raw.send(struct.pack(">IIII", 500, CommandId.SUBMIT_SM, 0, 9) + b"\0" * 20)
        answer = raw.read(timeout=4)
        assert isinstance(answer, GenericNack) and answer.command_status == Status.ESME_RINVCMDLEN
        raw.send(encode(EnquireLink(sequence_number=10)))
        assert raw.read().sequence_number == 10


# ---------------------------------------------------------------------------- TLS and the CLI


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_tls_listener_serves_smpplib(tmp_path) -> None:
    cert, key = _self_signed(tmp_path)
    config = loopback_config(control=False, tls=TlsConfig(port=0, cert=cert, key=key))
    with SimulatorThread(config, scenario=happy_scenario()) as running:
        tls_port = next(l.port for l in running.simulator.listeners if l.name == "smpp-tls")
        context = ssl.create_default_context(cafile=cert)
        context.check_hostname = False
        client = smpplib.client.Client("127.0.0.1", tls_port, timeout=5, ssl_context=context)
        client.connect()
        assert client.bind_transceiver(system_id="acme", password="x").status == 0
        client.unbind()
        client.disconnect()


def test_serve_prints_listeners_and_unbinds_everyone_on_sigterm(tmp_path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "serve", "--port", str(port), "--no-control"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = [process.stdout.readline() for _ in range(2)]
        assert any(f"smpp://127.0.0.1:{port}" in line for line in lines), lines
        raw = RawClient(port)
        assert raw.bind() == 0
        process.send_signal(signal.SIGTERM)
        unbind = raw.read(timeout=5)
        assert unbind is not None and unbind.command_id == CommandId.UNBIND
        raw.send(encode(unbind.response()))
        assert process.wait(10) == 0
        assert raw.closed()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1)
    finally:
        if process.poll() is None:
            process.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
