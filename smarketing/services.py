from datetime import datetime

from smarketing.models import Heartbeat

WORKER = "worker"


def heartbeat_record(*, now: datetime, hostname: str = "") -> None:
    Heartbeat.objects.update_or_create(
        name=WORKER, defaults={"beat_at": now, "hostname": hostname or ""}
    )
