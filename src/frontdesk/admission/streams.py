"""Open live event streams per client address and per conversation (per worker)."""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.errors import RateLimited


class StreamSlots:
    """Open live streams per client address and per conversation (in this worker)."""

    def __init__(self, per_address: int, per_conversation: int) -> None:
        self._per_address = per_address
        self._per_conversation = per_conversation
        self._by_address: dict[str, int] = {}
        self._by_conversation: dict[str, int] = {}

    def acquire(self, address: str, conversation: str) -> StreamSlot:
        """Take a slot, or raise :class:`RateLimited`; release it with ``slot.release()``."""
        if self._per_address and self._by_address.get(address, 0) >= self._per_address:
            raise RateLimited(
                f"too many live streams from this connection (limit {self._per_address})",
                retry_after=30,
            )
        if (
            self._per_conversation
            and self._by_conversation.get(conversation, 0) >= self._per_conversation
        ):
            raise RateLimited(
                f"too many live streams for this conversation (limit {self._per_conversation})",
                retry_after=30,
            )
        self._by_address[address] = self._by_address.get(address, 0) + 1
        self._by_conversation[conversation] = self._by_conversation.get(conversation, 0) + 1
        return StreamSlot(self, address, conversation)

    def _release(self, address: str, conversation: str) -> None:
        for counts, key in ((self._by_address, address), (self._by_conversation, conversation)):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]


@dataclass
class StreamSlot:
    slots: StreamSlots
    address: str
    conversation: str
    released: bool = False

    def release(self) -> None:
        """Idempotent: the stream's end and its garbage collection may both call it."""
        if not self.released:
            self.released = True
            self.slots._release(self.address, self.conversation)
