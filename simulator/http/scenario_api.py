"""The control API's scenario and fault routes: switch scenarios, fire phase triggers, inject and clear faults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from simulator.core.faults import KINDS, FaultRequest
from simulator.core.scenario import load_scenario, parse_scenario
from simulator.yamlload import ConfigError

from .control import API_PREFIX, bad_request, json_response, not_found, read_json

if TYPE_CHECKING:
    from simulator.app import Simulator


class ScenarioApi:
    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.carrier = simulator.carrier

    async def get_scenario(self, request: Request) -> Response:
        return json_response(self.carrier.scenario.describe())

    async def put_scenario(self, request: Request) -> Response:
        body = await read_json(request)
        if set(body) - {"name", "yaml"} or len(body) != 1:
            raise bad_request("give exactly one of 'name' (a bundled scenario or a file) or 'yaml' (its text)")
        try:
            if "name" in body:
                if not isinstance(body["name"], str):
                    raise bad_request("name must be a string")
                scenario = load_scenario(body["name"])
            else:
                if not isinstance(body["yaml"], str):
                    raise bad_request("yaml must be the scenario file's text")
                scenario = parse_scenario(body["yaml"], file="<posted scenario>")
        except ConfigError as error:
            raise bad_request(str(error)) from None
        self.carrier.set_scenario(scenario)
        return json_response(scenario.describe())

    async def trigger(self, request: Request) -> Response:
        name = request.path_params["name"]
        started = self.carrier.trigger(name)
        if not started:
            raise not_found(f"no phase of scenario {self.carrier.scenario.name!r} waits on trigger {name!r}")
        return json_response({"trigger": name, "started": started})

    async def outcomes(self, request: Request) -> Response:
        log = self.carrier.scenario.log
        return json_response({"count": len(log), "outcomes": [list(entry) for entry in log]})

    async def list_faults(self, request: Request) -> Response:
        now = self.carrier.clock.now()
        return json_response({"faults": [f.as_json(now) for f in self.carrier.faults.live(now)], "types": KINDS})

    async def add_fault(self, request: Request) -> Response:
        body = await read_json(request)
        try:
            fault_request = FaultRequest.from_json(body)
        except ValueError as error:
            raise bad_request(str(error)) from None
        now = self.carrier.clock.now()
        fault = self.carrier.faults.add(fault_request, now)
        if fault.kind == "kick_binds":
            fault.action = f"kicked {self.simulator.smpp.kick(fault.system_id, drop=True)} binds"
        elif fault.kind == "pause_receipts":
            self.carrier.outbox.pause(fault_request.duration or 0.0)
            fault.action = f"receipts paused for {fault_request.duration:g}s"
        return json_response(fault.as_json(now), 201)

    async def clear_faults(self, request: Request) -> Response:
        self.carrier.faults.clear()
        self.carrier.outbox.resume()
        return Response(status_code=204)

    async def delete_fault(self, request: Request) -> Response:
        if not self.carrier.faults.remove(request.path_params["id"]):
            raise not_found(f"no fault {request.path_params['id']!r}")
        return Response(status_code=204)


def scenario_routes(simulator: Simulator) -> list[BaseRoute]:
    api = ScenarioApi(simulator)
    p = API_PREFIX
    return [
        Route(f"{p}/scenario", api.get_scenario, methods=["GET"], name="scenario"),
        Route(f"{p}/scenario", api.put_scenario, methods=["PUT"], name="set_scenario"),
        Route(f"{p}/scenario/triggers/{{name}}", api.trigger, methods=["POST"], name="trigger"),
        Route(f"{p}/scenario/outcomes", api.outcomes, methods=["GET"], name="outcomes"),
        Route(f"{p}/faults", api.list_faults, methods=["GET"], name="faults"),
        Route(f"{p}/faults", api.add_fault, methods=["POST"], name="add_fault"),
        Route(f"{p}/faults", api.clear_faults, methods=["DELETE"], name="clear_faults"),
        Route(f"{p}/faults/{{id}}", api.delete_fault, methods=["DELETE"], name="delete_fault"),
    ]


_ERROR = {"description": "Invalid input or unknown resource",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_OBJECT = {"application/json": {"schema": {"type": "object"}}}

SCENARIO_OPENAPI: dict[str, Any] = {
    f"{API_PREFIX}/scenario": {
        "get": {"operationId": "getScenario", "summary": "The running scenario, its phases and which are active",
                "responses": {"200": {"description": "The scenario", "content": _OBJECT}}},
        "put": {
            "operationId": "setScenario",
            "summary": "Switch scenarios without dropping binds: a bundled name or file, or posted YAML",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"name": {"type": "string"}, "yaml": {"type": "string"}},
                "additionalProperties": False}}}},
            "responses": {"200": {"description": "The new scenario", "content": _OBJECT}, "400": _ERROR},
        },
    },
    f"{API_PREFIX}/scenario/triggers/{{name}}": {
        "post": {"operationId": "triggerPhase", "summary": "Start the phases that wait on this trigger",
                 "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                 "responses": {"200": {"description": "Phases started", "content": _OBJECT}, "404": _ERROR}},
    },
    f"{API_PREFIX}/scenario/outcomes": {
        "get": {"operationId": "scenarioOutcomes",
                "summary": "Every decision the scenario made, in order, without message ids (for replay checks)",
                "responses": {"200": {"description": "The outcome log", "content": _OBJECT}}},
    },
    f"{API_PREFIX}/faults": {
        "get": {"operationId": "listFaults", "summary": "Active faults",
                "responses": {"200": {"description": "Faults", "content": _OBJECT}}},
        "post": {
            "operationId": "addFault",
            "summary": "Inject a fault: one-shot, N times (count) or for a while (duration)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["type"], "additionalProperties": False,
                "properties": {
                    "type": {"type": "string", "enum": sorted(KINDS)},
                    "system_id": {"type": "string"}, "destination": {"type": "string"},
                    "status": {"type": ["integer", "string"]}, "latency": {"type": ["number", "string"]},
                    "count": {"type": "integer", "minimum": 1}, "duration": {"type": ["number", "string"]},
                }}}}},
            "responses": {"201": {"description": "The fault", "content": _OBJECT}, "400": _ERROR},
        },
        "delete": {"operationId": "clearFaults", "summary": "Clear every fault",
                   "responses": {"204": {"description": "Cleared"}}},
    },
    f"{API_PREFIX}/faults/{{id}}": {
        "delete": {"operationId": "deleteFault", "summary": "Clear one fault",
                   "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                   "responses": {"204": {"description": "Cleared"}, "404": _ERROR}},
    },
}
