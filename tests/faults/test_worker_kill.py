"""kill -9 in the middle of a burst: late acks with reject-on-worker-lost put the task being
run back on the queue, and a restarted worker finishes the work. Nothing acknowledged is
lost, nothing is scored or handed off twice."""

import os
import signal
import time

from tests.faults.conftest import lead_events


def _burst(stack, prefix: str, n_leads: int, batch: int = 6) -> None:
    events = lead_events(prefix, n_leads)
    for start in range(0, len(events), batch):
        status, _, body = stack.post_events(events[start : start + batch])
        assert status == 200, body


def _assert_invariants(stack, result: dict) -> None:
    assert result["ok"], result["problems"]
    counts = result["counts"]
    assert counts["events_stored"] == counts["events_acknowledged"]
    assert counts["handoffs"] == counts["qualifications"] == counts["leads_with_events"]
    assert stack.unique_webhook_ids() == counts["handoffs"]


def test_killing_a_worker_child_mid_burst_loses_nothing(stack):
    _burst(stack, "child-a", 15)
    children = stack.app.worker_children()
    assert children, "the worker has pool processes"
    os.kill(children[0], signal.SIGKILL)
    _burst(stack, "child-b", 15)

    # A child killed while delivering a webhook leaves its row claimed for the lease; the
    # reconciler and outbox sweep (beat's job) deliver it once the lease is over.
    result = stack.settle(timeout=120, reconcile_every=10)

    _assert_invariants(stack, result)
    assert result["counts"]["leads_with_events"] == 30


def test_killing_the_worker_main_process_mid_burst_then_restarting_it_loses_nothing(stack):
    _burst(stack, "main-a", 15)
    stack.app.kill_worker()
    _burst(stack, "main-b", 15)  # the API keeps accepting with no worker at all
    time.sleep(1)
    stack.app.start_worker()

    # Tasks the dead worker had reserved come back after the visibility timeout (an hour);
    # the reconciler does not wait for it: it re-drives from the database.
    result = stack.settle(timeout=120, reconcile_every=5)

    _assert_invariants(stack, result)
    assert result["counts"]["leads_with_events"] == 30
