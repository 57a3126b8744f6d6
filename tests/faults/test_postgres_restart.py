"""PostgreSQL restarting (fast and immediate shutdown): requests fail cleanly with 503 and
Retry-After, clients that retry with the same event ids create no duplicates, and every
acknowledged event is there afterwards."""

import threading
import time

import pytest

from tests.faults.conftest import lead_events


def _client(stack, events, outcomes: list, stop_at: float) -> None:
    """A client that retries each batch (same event ids) until it is acknowledged."""
    for start in range(0, len(events), 4):
        batch = events[start : start + 4]
        while time.monotonic() < stop_at:
            status, headers, _ = stack.post_events(batch, timeout=5)
            outcomes.append((status, headers.get("Retry-After")))
            if status == 200:
                break
            time.sleep(0.3)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_postgres_restart_gives_503_with_retry_after_and_retries_lose_and_duplicate_nothing(
    stack, mode
):
    outcomes: list = []
    events = lead_events(f"pg-{mode}", 12)
    stop_at = time.monotonic() + 40
    clients = [
        threading.Thread(target=_client, args=(stack, events[i::3], outcomes, stop_at))
        for i in range(3)
    ]
    stack.postgres.stop(mode)
    for thread in clients:
        thread.start()
    time.sleep(3)
    stack.postgres.start()
    for thread in clients:
        thread.join()

    refused = [o for o in outcomes if o[0] != 200]
    assert refused, "the outage was seen by the clients"
    assert {status for status, _ in refused} == {503}, refused
    assert all(retry_after == "5" for _, retry_after in refused)
    assert len(stack.acknowledged) == len(events)
    stack.app.ctl("reconcile")
    result = stack.settle(timeout=45, reconcile_every=5)
    assert result["ok"], result["problems"]
    assert result["counts"]["events_stored"] == len(events)
    assert result["counts"]["handoffs"] == result["counts"]["qualifications"] == 12
