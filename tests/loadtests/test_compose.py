"""docker-compose.yml: one image for the simulator, a Locust master and scalable workers, with commands that
name real CLI options and a real locustfile (checked without a Docker engine)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import yaml

from simulator.cli import build_parser

from .conftest import REPO

CHECK_LOCUST_ARGS = """
import json, sys
from locust.argument_parser import get_parser
from loadtests.options import add_arguments
parser = get_parser(default_config_files=())
add_arguments(parser)
for args in json.loads(sys.argv[1]):
    parser.parse_args(args)  # exits 2, naming the option, on anything unknown
print("ok")
"""


def _interpolate(value: str) -> str:
    """Compose's ${VAR:-default} with the defaults, as an unconfigured `docker compose up` sees it."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _command(service: dict) -> list[str]:
    return [_interpolate(part) for part in service["command"]]


def test_services_share_one_image_and_workers_can_scale():
    services = _compose()["services"]
    assert {"simulator", "master", "worker"} <= set(services)
    images = {service.get("image") for service in services.values()}
    assert images == {"carrier-sim:latest"} and "build" in services["simulator"]
    worker = services["worker"]
    assert "ports" not in worker and "container_name" not in worker  # `--scale worker=N` needs both absent
    assert "8089:8089" in services["master"]["ports"]
    assert {"2775:2775", "8025:8025"} <= set(services["simulator"]["ports"])
    dockerfile = (REPO / "Dockerfile").read_text()
    assert ".[load]" in dockerfile and "COPY loadtests" in dockerfile
    # The compiled twins are built in the image (and the build checked).
    assert "setup.py" in dockerfile and "import simulator.smpp._speedups, simulator.core._speedups" in dockerfile


def test_simulator_command_uses_real_cli_options():
    command = _command(_compose()["services"]["simulator"])
    assert command[0] == "carrier-sim"
    args = build_parser().parse_args(command[1:])  # argparse exits on an unknown option
    assert args.command == "serve" and args.host == "0.0.0.0"


def test_locust_commands_use_real_options_and_the_real_locustfile():
    services = _compose()["services"]
    master, worker = _command(services["master"]), _command(services["worker"])
    for command in (master, worker):
        assert command[0] == "locust"
        locustfile = command[command.index("-f") + 1]
        assert (REPO / locustfile.removeprefix("/app/")).is_file(), locustfile
    assert "--master" in master and "--expect-workers" in master and "SmppUser" in master
    assert master[master.index("--host") + 1] == "smpp://simulator:2775"  # the simulator service's SMPP port
    assert master[master.index("--control-url") + 1] == "http://simulator:8025"
    assert "--worker" in worker and worker[worker.index("--master-host") + 1] == "master"
    arguments = [command[1:] for command in (master, worker)]
    result = subprocess.run([sys.executable, "-c", CHECK_LOCUST_ARGS, json.dumps(arguments)], capture_output=True,
                            text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
