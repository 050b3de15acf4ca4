"""Scenarios against real binds: connection faults, runtime switching and faults through the control API."""

from __future__ import annotations

import struct
import subprocess
import sys
import threading
import time

import httpx
import pytest

from simulator.core.scenario import parse_scenario
from simulator.smpp.codec import encode
from simulator.smpp.pdu import BindTransceiver, CommandId, EnquireLink, GenericNack, SubmitSm
from simulator.smpp.status import Status
from simulator.testing import SimulatorThread, SmppTestClient, loopback_config
from tests.smpp.test_server import RawClient

BASE = "seed: 4\ndefaults:\n  receipt:\n    states: [{state: DELIVRD}]\n    delay: 50ms\n"


def running(extra: str = "", *, base: str = BASE, **smpp):
    return SimulatorThread(loopback_config(**smpp), scenario=parse_scenario(base + extra))


def submit_pdu(sequence: int, destination: str = "447700900001", registered_delivery: int = 0) -> bytes:
    return encode(SubmitSm(sequence_number=sequence, source_addr="123", destination_addr=destination,
                           short_message=b"x", registered_delivery=registered_delivery))


def bound_transceiver(sim: SimulatorThread) -> RawClient:
    """A raw transceiver bind the simulator accepted."""
    raw = RawClient(sim.smpp_port)
    assert raw.bind(BindTransceiver) == 0
    return raw


def send_submits(raw: RawClient, count: int) -> None:
    """`count` one-part submit_sm, sequence numbers from 2 (1 was the bind)."""
    for n in range(2, 2 + count):
        raw.send(submit_pdu(n))


def test_disconnect_after_n_pdus_drops_the_tcp_connection() -> None:
    with running("  connection: {disconnect_after_pdus: 5}\n") as sim:
        raw = bound_transceiver(sim)
        send_submits(raw, 5)
        answers = [raw.read() for _ in range(5)]
        assert all(a is not None and a.command_status == 0 for a in answers), "the 5th PDU is answered first"
        assert raw.closed()


def test_unbind_and_forced_rebind_come_from_the_server() -> None:
    with running("  connection: {rebind_after_messages: 3}\n") as sim:
        raw = bound_transceiver(sim)
        send_submits(raw, 3)
        pdus = [raw.read() for _ in range(4)]
        assert pdus[-1].command_id == CommandId.UNBIND
        raw.send(encode(pdus[-1].response()))
        assert raw.closed()
        again = RawClient(sim.smpp_port)
        assert again.bind(BindTransceiver) == 0, "the client can rebind at once"


def test_a_pdu_counting_fault_switched_in_at_run_time_acts_on_binds_already_up() -> None:
    # The server only counts PDUs against the scenario while its connection behaviour asks for it.
    with running() as sim:
        raw = bound_transceiver(sim)
        raw.send(submit_pdu(2))
        assert raw.read().command_status == 0
        with httpx.Client(base_url=sim.control_url, timeout=10) as api:
            switched = api.put("/api/v1/scenario", json={"yaml": BASE + "  connection: {disconnect_after_pdus: 3}\n"})
            assert switched.status_code == 200
        raw.send(submit_pdu(3))
        assert raw.read().command_status == 0, "two PDUs since the bind: still up"
        raw.send(submit_pdu(4))
        assert raw.read().command_status == 0, "the third is answered, then the connection drops"
        assert raw.closed()


def test_outage_refuses_binds_with_the_scenario_status() -> None:
    with running("  connection: {refuse_binds: 0x0D}\n") as sim:
        raw = RawClient(sim.smpp_port)
        assert raw.bind(BindTransceiver) == Status.ESME_RBINDFAIL
        assert raw.closed()


def test_mute_enquire_link_leaves_it_unanswered() -> None:
    with running("  connection: {mute_enquire_link: true}\n") as sim:
        raw = bound_transceiver(sim)
        raw.send(encode(EnquireLink(sequence_number=9)))
        assert raw.read(timeout=0.5) is None
        raw.send(submit_pdu(10))
        assert raw.read().sequence_number == 10, "the bind itself still works"


def test_stall_stops_reading_until_the_phase_ends() -> None:
    with running("phases:\n  - {name: stall, trigger: stall, duration: 1s, connection: {stall: true}}\n") as sim:
        raw = bound_transceiver(sim)
        with httpx.Client(base_url=sim.control_url) as api:
            assert api.post("/api/v1/scenario/triggers/stall").status_code == 200
            raw.send(submit_pdu(2))
            assert raw.read(timeout=0.5) is None, "half-open: nothing is read"
            answer = raw.read(timeout=5)
            assert answer is not None and answer.sequence_number == 2, "reading resumes when the phase ends"


@pytest.mark.parametrize(("kind", "check"), [
    ("bad_length", lambda data: struct.unpack_from(">I", data)[0] == 12),
    ("unknown_command", lambda data: struct.unpack_from(">I", data, 4)[0] == 0xFE),
    ("bad_sequence", lambda data: struct.unpack_from(">I", data, 4)[0] == CommandId.SUBMIT_SM_RESP),
])
def test_injected_malformed_pdus(kind, check) -> None:
    with running(f"  connection: {{inject: {{kind: {kind}, every_pdus: 2}}}}\n") as sim:
        raw = bound_transceiver(sim)
        raw.send(submit_pdu(2))
        raw.send(submit_pdu(3))
        time.sleep(0.3)
        data = raw.sock.recv(65536)
        frames, offset = [], 0
        while offset + 8 <= len(data):
            length = struct.unpack_from(">I", data, offset)[0]
            frames.append(data[offset:offset + max(length, 16)])
            offset += max(length, 16)
        assert any(check(frame) for frame in frames), [f.hex() for f in frames]


def test_submit_response_variants_no_response_nack_and_no_body() -> None:
    extra = ("rules:\n"
             "  - {match: {destination: '111'}, submit: {respond: false}}\n"
             "  - {match: {destination: '222'}, submit: {nack: true, status: 0x08}}\n"
             "  - {match: {destination: '333'}, submit: {status: 0x45, omit_body: true}}\n"
             "  - {match: {destination: '444'}, submit: {omit_body: true}}\n")
    with running(extra) as sim:
        raw = bound_transceiver(sim)
        raw.send(submit_pdu(2, "11100000"))
        raw.send(submit_pdu(3, "22200000"))
        raw.send(submit_pdu(4, "33300000"))
        raw.send(submit_pdu(5, "44400000"))
        nack, bare, bare_ok = raw.read(), raw.read(), raw.read()
        assert isinstance(nack, GenericNack) and nack.sequence_number == 3 and nack.command_status == 8
        assert bare.command_id == CommandId.SUBMIT_SM_RESP and bare.command_status == 0x45 and bare.message_id == ""
        # Accepted, and still answered without the body (no message_id): not the usual answer.
        assert (bare_ok.sequence_number, bare_ok.command_status, bare_ok.message_id) == (5, 0, "")
        assert raw.read(timeout=0.5) is None, "111 is never answered"


def test_early_receipt_arrives_before_its_submit_response() -> None:
    with running(base="defaults:\n  receipt: {early: 1.0, states: [{state: DELIVRD}], delay: 100ms}\n") as sim:
        raw = bound_transceiver(sim)
        raw.send(submit_pdu(2, registered_delivery=1))
        first, second = raw.read(), raw.read()
        assert first.command_id == CommandId.DELIVER_SM and second.command_id == CommandId.SUBMIT_SM_RESP
        assert first.tlv("receipted_message_id") == second.message_id


def test_scenario_window_limit_applies_to_live_binds() -> None:
    extra = "  submit: {latency: 1s}\n  limits: {window: 2, window_status: 0x58}\n"
    with running(extra) as sim:
        raw = bound_transceiver(sim)
        send_submits(raw, 3)
        refused = raw.read(timeout=0.5)
        assert refused.sequence_number == 4 and refused.command_status == Status.ESME_RTHROTTLED


def test_scenario_per_bind_limit_applies_to_live_binds() -> None:
    with running("  limits: {tps_per_bind: 5, tps_per_bind_status: 0x58}\n") as sim:
        raw = bound_transceiver(sim)
        send_submits(raw, 10)
        statuses = [raw.read().command_status for _ in range(10)]
        assert 1 <= statuses.count(0) <= 3, statuses  # a burst of max(1, 5/10) tokens, then 5 a second
        assert statuses.count(Status.ESME_RTHROTTLED) == 10 - statuses.count(0), statuses


def test_switching_scenarios_and_faults_during_live_load_keeps_other_binds_up() -> None:
    with running() as sim:
        stop = threading.Event()
        results: dict[str, list[int]] = {"acme": [], "beta": []}
        failures: list[str] = []

        def load(system_id: str) -> None:
            client = SmppTestClient(sim.smpp_port, system_id, bind="transmitter")
            try:
                while not stop.is_set():
                    before = len(client.responses)
                    client.submit_nowait()
                    if not client.wait_until(lambda: len(client.responses) > before, timeout=3):
                        failures.append(f"{system_id}: no response")
                        return
                    results[system_id].append(client.responses[-1].status)
                    time.sleep(0.005)
            except Exception as error:  # noqa: BLE001 - reported below
                failures.append(f"{system_id}: {error!r}")
            finally:
                client.close()

        threads = [threading.Thread(target=load, args=(name,), daemon=True) for name in results]
        for thread in threads:
            thread.start()
        with httpx.Client(base_url=sim.control_url, timeout=10) as api:
            time.sleep(0.3)
            binds_before = {b["id"] for b in api.get("/api/v1/binds").json()["binds"]}
            switched = api.put("/api/v1/scenario", json={"name": "throttled"})
            assert switched.status_code == 200 and switched.json()["name"] == "throttled"
            time.sleep(0.3)
            fault = api.post("/api/v1/faults", json={"type": "submit_status", "system_id": "beta", "status": "0x58",
                                                    "count": 5})
            assert fault.status_code == 201 and fault.json()["remaining"] == 5
            assert [f["id"] for f in api.get("/api/v1/faults").json()["faults"]] == [fault.json()["id"]]
            time.sleep(0.3)
            assert api.get("/api/v1/faults").json()["faults"] == [], "five uses and it is gone"
            lasting = api.post("/api/v1/faults", json={"type": "submit_status", "system_id": "acme", "status": 8,
                                                      "duration": "1h"})
            time.sleep(0.2)
            assert api.delete("/api/v1/faults").status_code == 204
            kicked = api.post("/api/v1/faults", json={"type": "kick_binds", "system_id": "nobody"})
            assert kicked.json()["action"] == "kicked 0 binds"
            api.put("/api/v1/scenario", json={"yaml": BASE})
            time.sleep(0.3)
            binds_after = {b["id"] for b in api.get("/api/v1/binds").json()["binds"]}
            assert lasting.status_code == 201
        stop.set()
        for thread in threads:
            thread.join(10)
        assert not failures
        assert binds_before == binds_after and len(binds_after) == 2, "no bind was dropped"
        assert results["beta"].count(Status.ESME_RSYSERR) == 0
        assert Status.ESME_RSYSERR in results["acme"], "the lasting fault hit acme until it was cleared"
        assert results["acme"][-1] == 0 and results["beta"][-1] == 0


def test_fault_kick_binds_and_pause_receipts() -> None:
    with running() as sim:
        SmppTestClient(sim.smpp_port, "victim")  # the bind the fault kicks
        bystander = SmppTestClient(sim.smpp_port, "bystander")
        with httpx.Client(base_url=sim.control_url) as api:
            response = api.post("/api/v1/faults", json={"type": "kick_binds", "system_id": "victim"})
            assert response.json()["action"] == "kicked 1 binds"
            time.sleep(0.2)
            assert [b["system_id"] for b in api.get("/api/v1/binds").json()["binds"]] == ["bystander"]
            assert api.post("/api/v1/faults", json={"type": "pause_receipts", "duration": "1s"}).status_code == 201
            bystander.submit_nowait(registered_delivery=1)
            assert not bystander.wait_until(lambda: len(bystander.delivered) > 0, timeout=0.6)
            assert bystander.wait_until(lambda: len(bystander.delivered) == 1, timeout=3)
            bad = api.post("/api/v1/faults", json={"type": "explode"})
            assert bad.status_code == 400 and "type must be one of" in bad.json()["error"]["message"]
        bystander.close()


def test_trigger_and_put_scenario_errors() -> None:
    with running() as sim, httpx.Client(base_url=sim.control_url) as api:
        assert api.post("/api/v1/scenario/triggers/nothing").status_code == 404
        bad = api.put("/api/v1/scenario", json={"yaml": "defaults:\n  submit:\n    statsu: 0x58\n"})
        assert bad.status_code == 400 and "line 3" not in bad.text and ":3:" in bad.json()["error"]["message"]
        assert "did you mean 'status'" in bad.json()["error"]["message"]
        assert api.get("/api/v1/scenario").json()["seed"] == 4, "a bad scenario leaves the old one in place"
        assert api.put("/api/v1/scenario", json={"name": "no-such"}).status_code == 400


def test_same_scenario_twice_over_smpp_gives_identical_outcome_logs() -> None:
    logs = []
    for _ in range(2):
        with SimulatorThread(loopback_config(window=0), scenario=parse_scenario(open("scenarios/flaky-carrier.yaml").read()
                                                                        .replace("500", "100000"))) as sim:
            client = SmppTestClient(sim.smpp_port, "acme")
            for n in range(300):  # one bind, so the carrier sees them in this order
                client.submit_nowait(destination=f"4477009{n:05d}", registered_delivery=1)
            assert client.wait_until(lambda: len(client.responses) == 300, timeout=10)
            with httpx.Client(base_url=sim.control_url) as api:
                logs.append(api.get("/api/v1/scenario/outcomes").json()["outcomes"])
            client.close()
    assert len(logs[0]) >= 300 and logs[0] == logs[1]


def test_scenario_check_names_the_line_and_field_of_a_typo(tmp_path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("seed: 1\ndefaults:\n  receipt:\n    states:\n      - {state: DELIVRD, wieght: 3}\n")
    result = subprocess.run([sys.executable, "-m", "simulator.cli", "scenario", "check", str(broken)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert f"{broken}:5:" in result.stderr and "defaults.receipt.states[0].wieght" in result.stderr
    assert "did you mean 'weight'" in result.stderr
    listing = subprocess.run([sys.executable, "-m", "simulator.cli", "scenario", "check"], capture_output=True,
                             text=True, timeout=30)
    assert listing.returncode == 0 and "dlr-chaos" in listing.stdout and "magic-numbers" in listing.stdout
    wrong_type = tmp_path / "wrong.yaml"
    wrong_type.write_text("seed: 1\nphases:\n  - name: p\n    start: soon\n")
    result = subprocess.run([sys.executable, "-m", "simulator.cli", "scenario", "check", str(wrong_type)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and f"{wrong_type}:4:" in result.stderr and "phases[0].start" in result.stderr


def test_serve_with_a_bad_scenario_never_starts(tmp_path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("defaults:\n  submitt: {}\n")
    result = subprocess.run([sys.executable, "-m", "simulator.cli", "serve", "--port", "0", "--scenario", str(broken)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "submitt" in result.stderr and "did you mean 'submit'" in result.stderr
    assert "smpp://" not in result.stdout
