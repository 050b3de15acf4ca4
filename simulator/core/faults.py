"""Runtime faults, Toxiproxy-style: one-shot or N-times misbehaviour injected and cleared through the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from typing import Any

from simulator.smpp.status import Status, parse_status

from .distributions import parse_duration

KINDS = {
    "submit_status": "answer matching submits with `status`",
    "submit_latency": "delay the answer to matching submits by `latency`",
    "no_response": "never answer matching submits",
    "drop_receipts": "lose the receipts of matching messages",
    "refuse_binds": "refuse binds (of `system_id`, or all) with `status`",
    "kick_binds": "drop binds (of `system_id`, or all) now",
    "pause_receipts": "hold every receipt and MO for `duration`",
}
_ONE_SHOT = {"kick_binds", "pause_receipts"}


@dataclass(slots=True)
class Fault:
    id: str
    kind: str
    system_id: str | None = None
    destination: str | None = None  # a prefix
    status: int = Status.ESME_RTHROTTLED
    latency: float = 0.0
    remaining: int | None = None  # None = until it expires or is deleted
    expires_at: float | None = None  # carrier clock
    created_at: float = 0.0
    hits: int = 0
    action: str = ""  # what a one-shot fault did

    def matches(self, system_id: str, destination: str = "") -> bool:
        if self.system_id is not None and self.system_id != system_id:
            return False
        if self.destination is not None and not destination.lstrip("+").startswith(self.destination.lstrip("+")):
            return False
        return True

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id, "type": self.kind, "system_id": self.system_id, "destination": self.destination,
            "status": f"0x{self.status:02X}" if self.kind in ("submit_status", "refuse_binds") else None,
            "latency": self.latency if self.kind == "submit_latency" else None,
            "remaining": self.remaining, "expires_in": None if self.expires_at is None else max(0.0, self.expires_at - now),
            "hits": self.hits, "action": self.action or None,
        }


@dataclass(slots=True)
class FaultRequest:
    """What `POST /api/v1/faults` accepts."""

    kind: str
    system_id: str | None = None
    destination: str | None = None
    status: int = Status.ESME_RTHROTTLED
    latency: float = 0.0
    count: int | None = None
    duration: float | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> FaultRequest:
        allowed = {"type", "system_id", "destination", "status", "latency", "count", "duration"}
        unknown = set(body) - allowed
        if unknown:
            raise ValueError(f"unknown field {sorted(unknown)[0]!r}; expected {', '.join(sorted(allowed))}")
        kind = body.get("type")
        if kind not in KINDS:
            raise ValueError(f"type must be one of {', '.join(KINDS)}")
        request = cls(kind=kind)
        for name in ("system_id", "destination"):
            value = body.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
            setattr(request, name, value)
        if "status" in body:
            if isinstance(body["status"], bool) or not isinstance(body["status"], (int, str)):
                raise ValueError("status must be a command_status such as 88, \"0x58\" or \"THROTTLED\"")
            request.status = parse_status(body["status"])
        if "latency" in body:
            request.latency = parse_duration(body["latency"])
        if "duration" in body and body["duration"] is not None:
            request.duration = parse_duration(body["duration"])
        if "count" in body and body["count"] is not None:
            if isinstance(body["count"], bool) or not isinstance(body["count"], int) or body["count"] < 1:
                raise ValueError("count must be a whole number of at least 1")
            request.count = body["count"]
        if kind == "pause_receipts" and request.duration is None:
            raise ValueError("pause_receipts needs a duration")
        return request


@dataclass(slots=True)
class Faults:
    """The active faults. The carrier and front ends consult them before the scenario."""

    faults: dict[str, Fault] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: count(1))

    def add(self, request: FaultRequest, now: float) -> Fault:
        fault = Fault(
            id=f"f{next(self._ids)}", kind=request.kind, system_id=request.system_id,
            destination=request.destination, status=request.status, latency=request.latency,
            remaining=request.count, expires_at=None if request.duration is None else now + request.duration,
            created_at=now,
        )
        if request.kind not in _ONE_SHOT:
            self.faults[fault.id] = fault
        return fault

    def take(self, kind: str, now: float, system_id: str, destination: str = "") -> Fault | None:
        """The first live fault of this kind matching the traffic, counting it as used once."""
        if not self.faults:
            return None
        for fault in list(self.faults.values()):
            if fault.expires_at is not None and now >= fault.expires_at:
                del self.faults[fault.id]
                continue
            if fault.kind != kind or not fault.matches(system_id, destination):
                continue
            fault.hits += 1
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self.faults[fault.id]
            return fault
        return None

    def live(self, now: float) -> list[Fault]:
        for fault in list(self.faults.values()):
            if fault.expires_at is not None and now >= fault.expires_at:
                del self.faults[fault.id]
        return list(self.faults.values())

    def remove(self, fault_id: str) -> bool:
        return self.faults.pop(fault_id, None) is not None

    def clear(self) -> int:
        removed = len(self.faults)
        self.faults.clear()
        return removed
