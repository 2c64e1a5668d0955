"""The Inbox port for tests of a platform's receiving side alone (callback routes, stream
client): what was queued stays in a list to assert on, and the test can break it."""

from __future__ import annotations

from handlers.ports import Envelope


class RecordingInbox:
    """The Inbox port as promised: a dedup key is queued once; ``broken`` makes ``put`` fail
    like an unreachable store."""

    def __init__(self) -> None:
        self.items: list[Envelope] = []
        self._seen: set[str] = set()
        self.broken = False

    async def put(self, envelope: Envelope) -> bool:
        if self.broken:
            raise ConnectionError("inbox down")
        if envelope.dedup_key in self._seen:
            return False
        self._seen.add(envelope.dedup_key)
        self.items.append(envelope)
        return True
