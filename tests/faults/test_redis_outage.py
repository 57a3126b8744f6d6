"""Redis only carries work. With it stopped (gracefully, its append-only queue kept) or
killed with its queue lost, the API keeps accepting events (they are in PostgreSQL), and
once Redis is back the reconciler re-drives what the lost messages would have done."""

import time

from tests.faults.conftest import lead_events


def _post_all(stack, events, batch=5) -> list[int]:
    statuses = []
    for start in range(0, len(events), batch):
        status, _, body = stack.post_events(events[start : start + batch])
        statuses.append(status)
        assert status == 200, body
    return statuses


def _assert_invariants(stack, result: dict, leads: int) -> None:
    assert result["ok"], result["problems"]
    counts = result["counts"]
    assert counts["events_stored"] == counts["events_acknowledged"]
    assert counts["leads_with_events"] == leads
    assert counts["handoffs"] == counts["qualifications"] == leads
    assert stack.unique_webhook_ids() == counts["handoffs"]


def test_with_redis_stopped_the_api_keeps_accepting_and_the_work_is_done_once_it_is_back(stack):
    _post_all(stack, lead_events("before", 5))
    stack.redis.stop()
    assert not stack.redis.ping()

    statuses = _post_all(stack, lead_events("during", 10))

    assert set(statuses) == {200}
    stack.redis.start()
    stack.app.ctl("reconcile")
    result = stack.settle(timeout=120, reconcile_every=5)
    _assert_invariants(stack, result, leads=15)


def test_with_redis_killed_and_its_queue_lost_the_reconciler_re_drives_everything(stack):
    stack.app.stop_worker()  # so the queue still holds the burst when Redis dies
    _post_all(stack, lead_events("queued", 10))
    assert stack.redis.client().llen("celery") > 0, "the burst is waiting in Redis"
    stack.redis.kill_and_lose()

    statuses = _post_all(stack, lead_events("outage", 5))

    assert set(statuses) == {200}
    stack.redis.start()
    assert stack.redis.client().llen("celery") == 0, "the queue was lost"
    stack.app.start_worker()
    time.sleep(1)
    first = stack.app.ctl("reconcile")
    assert first["leads_rescored"] == 15
    result = stack.settle(timeout=120, reconcile_every=5)
    _assert_invariants(stack, result, leads=15)
