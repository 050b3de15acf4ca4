"""Receipts and MOs across worker processes: a hub in the parent relays them to a worker where the account is bound.

With `carrier-sim serve --workers N` connections are spread over N processes (SO_REUSEPORT, evened
out by smpp/balance.py), so an account's transmitter may be on one worker and its receiver on another. Each worker tells
the hub which accounts it has receiving binds for. A worker with no local receiver for an account
attaches a RemoteEndpoint for it: the outbox hands the delivery over to the hub, which forwards it
to a worker that has one, where it enters that worker's outbox like any local delivery (held,
round-robin, retried). Responsibility moves with the item, so each receipt is still sent once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from .outbox import Delivery
from .records import Inbound, Message, MessageState, Receipt

_log = logging.getLogger("carrier_sim.relay")


def item_to_wire(item: Receipt | Inbound) -> dict[str, Any]:
    m = item.message
    message = {"id": m.id, "system_id": m.system_id, "channel": m.channel, "source": m.source,
               "destination": m.destination, "data_coding": m.data_coding, "payload": m.payload.hex(),
               "submitted_at": m.submitted_at, "state": int(m.state), "direction": m.direction,
               "registered_delivery": m.registered_delivery, "legacy": m.legacy}
    if isinstance(item, Receipt):
        return {"kind": "receipt", "message": message, "state": int(item.state), "error": item.error,
                "done_at": item.done_at, "network_error": item.network_error, "text": item.text,
                "submitted_parts": item.submitted_parts, "mangle_id": item.mangle_id,
                "intermediate": item.intermediate}
    return {"kind": "inbound", "message": message, "short_message": item.short_message.hex(), "udhi": item.udhi,
            "sar": item.sar, "message_payload": None if item.message_payload is None else item.message_payload.hex()}


def item_from_wire(data: dict[str, Any]) -> Receipt | Inbound:
    raw = data["message"]
    message = Message(id=raw["id"], system_id=raw["system_id"], channel=raw["channel"], source=raw["source"],
                      destination=raw["destination"], data_coding=raw["data_coding"],
                      payload=bytes.fromhex(raw["payload"]), submitted_at=raw["submitted_at"],
                      state=MessageState(raw["state"]), direction=raw["direction"],
                      registered_delivery=raw["registered_delivery"], legacy=raw["legacy"])
    if data["kind"] == "receipt":
        return Receipt(message=message, state=MessageState(data["state"]), error=data["error"],
                       done_at=data["done_at"],
                       network_error=tuple(data["network_error"]) if data["network_error"] else None,
                       quote=data["text"], submitted_parts=data["submitted_parts"], mangle_id=data["mangle_id"],
                       intermediate=data["intermediate"])
    return Inbound(message=message, short_message=bytes.fromhex(data["short_message"]), udhi=data["udhi"],
                   sar=tuple(data["sar"]) if data["sar"] else None,
                   message_payload=None if data["message_payload"] is None else bytes.fromhex(data["message_payload"]))


@dataclass(eq=False)
class RemoteEndpoint:
    """An outbox endpoint standing for 'some other worker has this account bound'."""

    mailbox: str
    link: WorkerLink

    def has_capacity(self) -> bool:
        return self.link.connected

    def offer(self, delivery: Delivery) -> None:
        self.link.send({"op": "deliver", "mailbox": self.mailbox, "item": item_to_wire(delivery.item)})
        delivery.item.message.log(self.link.carrier.clock.wall(), "relayed", "to another worker")
        self.link.carrier.outbox.settle(delivery, self, True)


class WorkerLink:
    """A worker's connection to the hub."""

    def __init__(self, carrier: Any, path: str, index: int) -> None:
        self.carrier = carrier
        self.path = path
        self.index = index
        self.connected = False
        self._writer: asyncio.StreamWriter | None = None
        self._remote: dict[str, RemoteEndpoint] = {}
        self._local: dict[str, int] = {}
        self._elsewhere: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        reader, self._writer = await asyncio.open_unix_connection(self.path)
        self.connected = True
        self.send({"op": "hello", "worker": self.index})
        self._task = asyncio.create_task(self._read(reader), name="relay-link")

    def send(self, message: dict[str, Any]) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def local_binds_changed(self, mailbox: str, receivers: int) -> None:
        """Called by the SMPP server when this worker gains or loses a receiving bind for an account."""
        self._local[mailbox] = receivers
        self.send({"op": "binds", "mailbox": mailbox, "receivers": receivers})
        self._reconcile(mailbox)

    def _reconcile(self, mailbox: str) -> None:
        # Prefer local binds; only relay when this worker has none for the account.
        wanted = self._local.get(mailbox, 0) == 0 and mailbox in self._elsewhere
        remote = self._remote.get(mailbox)
        if wanted and remote is None:
            remote = self._remote[mailbox] = RemoteEndpoint(mailbox, self)
            self.carrier.outbox.attach(remote)
        elif not wanted and remote is not None:
            del self._remote[mailbox]
            self.carrier.outbox.detach(remote)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                message = json.loads(line)
                if message["op"] == "elsewhere":
                    previous = self._elsewhere
                    self._elsewhere = set(message["mailboxes"])
                    for mailbox in previous | self._elsewhere:
                        self._reconcile(mailbox)
                elif message["op"] == "deliver":
                    self.carrier.outbox.post(message["mailbox"], item_from_wire(message["item"]))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.connected = False

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._writer is not None:
            self._writer.close()


class Hub:
    """Runs in the parent process: knows which worker has which account bound, and relays deliveries."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._workers: dict[int, asyncio.StreamWriter] = {}
        self._receivers: dict[int, dict[str, int]] = {}
        self._turn = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path=self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = -1
        try:
            while line := await reader.readline():
                message = json.loads(line)
                op = message["op"]
                if op == "hello":
                    index = message["worker"]
                    self._workers[index] = writer
                    self._receivers[index] = {}
                    self._broadcast()
                elif op == "binds":
                    self._receivers[index][message["mailbox"]] = message["receivers"]
                    self._broadcast()
                elif op == "deliver":
                    self._forward(index, message)
        except (ConnectionError, json.JSONDecodeError):
            pass
        finally:
            self._workers.pop(index, None)
            self._receivers.pop(index, None)
            self._broadcast()

    def _broadcast(self) -> None:
        for index, writer in self._workers.items():
            elsewhere = sorted({mailbox for other, mailboxes in self._receivers.items() if other != index
                                for mailbox, count in mailboxes.items() if count > 0})
            writer.write(json.dumps({"op": "elsewhere", "mailboxes": elsewhere}).encode() + b"\n")

    def _forward(self, sender: int, message: dict[str, Any]) -> None:
        mailbox = message["mailbox"]
        targets = sorted(i for i, mailboxes in self._receivers.items() if i != sender and mailboxes.get(mailbox, 0) > 0)
        if not targets:
            targets = [sender]  # the bind went away meanwhile: back to where it came from, to be held
        self._turn += 1
        writer = self._workers.get(targets[self._turn % len(targets)])
        if writer is not None:
            writer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
