"""The bounded message store: every message by id, oldest evicted first once the bound is reached."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from .records import Message, MessageState


class MessageStore:
    """Messages by id, in insertion order, holding at most `capacity` of them.

    Eviction policy: when full, the oldest message (by submission) is dropped, whatever its state.
    A receipt already scheduled for an evicted message is still delivered (the scheduler holds the
    record), but query_sm, cancel_sm, replace_sm and the control API no longer find it. Size the
    store above (messages per second x the longest receipt delay) to keep every pending message.
    """

    __slots__ = ("capacity", "_messages", "_order", "evicted")

    def __init__(self, capacity: int = 1_000_000) -> None:
        if capacity < 1:
            raise ValueError("the store must hold at least one message")
        self.capacity = capacity
        self._messages: dict[str, Message] = {}
        # Ids in insertion order. Evicting through next(iter(dict)) would rescan the dict's deleted
        # slots on every eviction; a deque keeps eviction O(1) for 8 bytes a message.
        self._order: deque[str] = deque()
        self.evicted = 0

    def add(self, message: Message) -> None:
        messages = self._messages
        if message.id not in messages:
            self._order.append(message.id)
        messages[message.id] = message
        if len(messages) > self.capacity:
            del messages[self._order.popleft()]
            self.evicted += 1

    def get(self, message_id: str) -> Message | None:
        return self._messages.get(message_id)

    def __len__(self) -> int:
        return len(self._messages)

    def __iter__(self) -> Iterator[Message]:
        return iter(self._messages.values())

    def newest_first(self) -> Iterator[Message]:
        return reversed(self._messages.values())

    def clear(self) -> None:
        self._messages.clear()
        self._order.clear()

    def search(
        self,
        *,
        to: str | None = None,
        sender: str | None = None,
        system_id: str | None = None,
        state: MessageState | None = None,
        since: float | None = None,
        until: float | None = None,
        direction: str | None = None,
        limit: int = 100,
    ) -> list[Message]:
        """Newest first, filtered; linear, since it serves tests and QA rather than the hot path."""
        found: list[Message] = []
        for message in reversed(self._messages.values()):
            if to is not None and message.destination != to:
                continue
            if sender is not None and message.source != sender:
                continue
            if system_id is not None and message.system_id != system_id:
                continue
            if state is not None and message.state is not state:
                continue
            if since is not None and message.submitted_at < since:
                continue
            if until is not None and message.submitted_at > until:
                continue
            if direction is not None and message.direction != direction:
                continue
            found.append(message)
            if len(found) >= limit:
                break
        return found
