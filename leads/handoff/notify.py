"""What a "ready for a call" message says and to whom; the outbox delivers it."""

from datetime import datetime


def handoff_notify(*, handoff_id: int, now: datetime) -> None:
    """Filled in by the notifications work: outbox rows per (handoff, channel, recipient)."""
