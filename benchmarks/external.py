"""Run another SMSC behind the bench's server interface, so `run --versus` can measure it in turns with carrier-sim.

The bench starts a server as `<command> serve --port P --control-port C --scenario S --config C` and reads its
listeners from a banner. Another SMSC knows none of that, so this launcher stands in front of it:

    python -m benchmarks run --versus 'python -m benchmarks.external --port-env SMSC_PORT --exec /opt/smscsim/smscsim'

It picks the port (the bench asks for port 0), starts `--exec` with the port in the environment variable
`--port-env` and in place of `{port}` in the command line, waits until that port accepts a connection on
127.0.0.1, prints the banner, and then waits for the SMSC, passing SIGTERM and SIGINT on. The SMSC is this
process's child, so the bench's CPU and memory figures, which sum the server's process tree, are the SMSC's
(this launcher only sleeps in wait()).

The bench's scenario and config are not applied: the SMSC answers and sends receipts as it was built to, so
give the bench the receipt delay the SMSC uses (`--receipt-delay`) for the receipt latencies to read right.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time

from benchmarks.server import free_port


def wait_until_listening(port: int, child: subprocess.Popen[bytes], timeout: float) -> bool:
    """True once 127.0.0.1:port accepts a connection; False if the child exits or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.external", description=__doc__.splitlines()[0])
    parser.add_argument("--exec", dest="command", required=True,
                        help="the SMSC's command line; {port} is replaced by the SMPP port")
    parser.add_argument("--port-env", help="an environment variable the SMSC reads its SMPP port from")
    parser.add_argument("--ready-timeout", type=float, default=10.0,
                        help="seconds to wait for the SMSC to accept connections (default 10)")
    # What the bench appends to every server command; only the port means anything here.
    parser.add_argument("serve", nargs="?", choices=("serve",))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    port = args.port or free_port()
    command = [part.replace("{port}", str(port)) for part in shlex.split(args.command)]
    env = dict(os.environ)
    if args.port_env:
        env[args.port_env] = str(port)
    # The SMSC's own stdout goes to stderr: the bench reads this process's stdout for the banner alone.
    child = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=sys.stderr)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, _frame: child.send_signal(received))
    if not wait_until_listening(port, child, args.ready_timeout):
        child.kill()
        print(f"benchmarks.external: {command[0]} did not accept connections on 127.0.0.1:{port} "
              f"within {args.ready_timeout:g}s (exit status {child.wait()})", file=sys.stderr)
        return 1
    print(f"smpp     smpp://127.0.0.1:{port}  (external: {shlex.join(command)})", flush=True)
    print("accounts the external SMSC's own; the bench's scenario and config are not applied", flush=True)
    status = child.wait()
    return status if status >= 0 else 128 - status  # killed by a signal: the shell's convention


if __name__ == "__main__":
    sys.exit(main())
