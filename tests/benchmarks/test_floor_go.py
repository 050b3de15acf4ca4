"""`benchmarks/floor_go`: the protocol-only floor in Go, built with the Go toolchain and driven over loopback."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.smpp.pdu import DeliverSm, SubmitSmResp
from simulator.smpp.tlv import Tag
from tests.benchmarks.test_benchmarks import REPO, _split, assert_floor_receipt, assert_messages, bench

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the benchmark reads /proc"),
    pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed (apt-get install golang-go)"),
]

@pytest.fixture(scope="module")
def floor_go(tmp_path_factory) -> Path:
    """The floor, built from the tree's source (no modules to fetch: it uses Go's standard library alone)."""
    out = tmp_path_factory.mktemp("floor_go")
    env = {**os.environ, "GOCACHE": str(out / "cache"), "GOPATH": str(out / "gopath"), "GOFLAGS": "-mod=mod"}
    subprocess.run(["go", "build", "-o", str(out / "floor_go"), "."], cwd=REPO / "benchmarks" / "floor_go",
                   env=env, check=True, capture_output=True, timeout=300)
    return out / "floor_go"


def test_the_bench_measures_the_go_floor_with_every_receipt_once(tmp_path, floor_go):
    server_cmd = shlex.join([sys.executable, "-m", "benchmarks.external",
                             "--exec", f"{floor_go} -port {{port}} -delay 300ms"])
    result, code, output = bench(tmp_path, "--mode", "sustained", "--rate", "1000", "--duration", "1s",
                                 "--receipt-delay", "300ms", "--server-cmd", server_cmd)
    assert code in (0, 3), output  # 3: a performance target missed, which a tiny run is not about
    assert result["ok"], (result["checks"], result.get("errors"))
    assert_messages(result, planned=1000)
    assert result["latency_ms"]["receipt"]["p50"] >= 300, "receipts wait for the floor's -delay"


def pdu(command: int, sequence: int, body: bytes = b"") -> bytes:
    return (16 + len(body)).to_bytes(4, "big") + command.to_bytes(4, "big") + bytes(4) + sequence.to_bytes(4, "big") \
        + body


def read_pdus(sock: socket.socket, count: int, timeout: float = 5.0) -> list:
    """Exactly `count` PDUs, read as they come; fails if they do not all come within `timeout`."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        whole, offset = 0, 0
        while len(data) - offset >= 4 and len(data) - offset >= int.from_bytes(data[offset:offset + 4], "big"):
            offset += int.from_bytes(data[offset:offset + 4], "big")
            whole += 1
        if whole >= count:
            assert whole == count and offset == len(data), f"more than {count} PDUs came"
            return _split(data)
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        assert chunk, "the floor closed the connection"
        data += chunk


def test_the_go_floor_speaks_smpp_the_simulators_codec_reads(floor_go):
    proc = subprocess.Popen([str(floor_go), "-port", "0", "-delay", "200ms", "-window", "1"],
                            stdout=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        assert banner.startswith("smpp     smpp://127.0.0.1:"), banner
        port = int(banner.split()[1].rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(pdu(0x09, 1, b"bench\0pw\0\0\x34\0\0\0"))
            bind_resp, = read_pdus(sock, 1)
            assert type(bind_resp).__name__ == "BindTransceiverResp" and bind_resp.command_status == 0

            def submit(sequence: int, text: bytes) -> bytes:
                body = b"\0" + b"\5\0Acme\0" + b"\1\1" + b"44770090002\0" + b"\0\0\0" + b"\0\0" + b"\1\0\0\0" \
                    + bytes((len(text),)) + text
                return pdu(0x04, sequence, body)

            sock.sendall(submit(2, b"code 1234 for you 2") + submit(3, b"code 5678 for you 3"))
            responses = read_pdus(sock, 2)
            assert all(isinstance(r, SubmitSmResp) and r.command_status == 0 for r in responses)
            assert [r.sequence_number for r in responses] == [2, 3]
            assert [r.message_id for r in responses] == ["1", "2"]

            first, = read_pdus(sock, 1)  # the deliver window of 1 holds the second receipt back
            assert_floor_receipt(first, message_id="1", text="code 1234 for you 2")

            sock.sendall(pdu(0x80000005, first.sequence_number + 100, b"\0"))
            sock.settimeout(0.4)
            with pytest.raises(TimeoutError):
                sock.recv(65536)  # an answer to nothing it sent frees no room
            sock.sendall(pdu(0x80000005, first.sequence_number, b"\0"))
            second, = read_pdus(sock, 1)
            assert isinstance(second, DeliverSm) and second.tlvs[Tag.RECEIPTED_MESSAGE_ID] == "2"

            sock.sendall(pdu(0x04, 7, b"\0\1\1A"))  # ends inside source_addr
            nack, = read_pdus(sock, 1)
            assert (nack.command_id, nack.command_status, nack.sequence_number) == (0x80000000, 0x02, 7)
    finally:
        proc.terminate()
        assert proc.wait(10) == 0, "SIGTERM stops the floor cleanly"
