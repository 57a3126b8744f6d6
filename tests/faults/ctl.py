"""Run inside the fault stack's environment (its database and Redis), never in the pytest
process: `python -m tests.faults.ctl COMMAND < payload.json` prints one JSON line.

    prepare     an active scoring model, a sales team of two reps with API tokens, a team
                webhook to the test's receiver, an ingest key
    invariants  tests/faults/invariants.py over the acknowledged event ids
    reconcile   what beat does after an outage: the reconciler (as if its grace had passed)
                and the outbox sweep
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta


def prepare(payload: dict) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from leads.routing.models import RoutingRule, SalesTeam, TargetKind, TeamMember
    from smarketing.models import IngestKey
    from smarketing.notifications import services
    from smarketing.roles import Role
    from tests.leads.scoring_fixtures import make_model

    now = timezone.now()
    make_model()
    team = SalesTeam.objects.create(name="Faults")
    reps = []
    group, _ = Group.objects.get_or_create(name=Role.SALES_REP.value)
    for name in ("rep1", "rep2"):
        user = get_user_model().objects.create_user(name, f"{name}@faults.test", "x" * 16)
        user.groups.add(group)
        TeamMember.objects.create(team=team, user=user)
        reps.append(Token.objects.create(user=user).key)
    RoutingRule.objects.create(
        name="Everything to the pool",
        is_default=True,
        target_kind=TargetKind.POOL,
        target_team=team,
    )
    if payload.get("hook_url"):
        services.webhook_endpoint_create(
            name="Faults hook",
            url=payload["hook_url"],
            body_format="standard",
            actor=None,
            now=now,
            teams=[team],
        )
    _, key = IngestKey.issue(name="faults", now=now)
    return {"ingest_key": key, "rep_tokens": reps}


def reconcile(payload: dict) -> dict:
    from django.utils import timezone

    from leads.reconcile import reconcile as run
    from smarketing.notifications import services

    # The reconciler leaves recent work to the fast path for a grace period; after an
    # outage that is over, so look from a moment past it.
    later = timezone.now() + timedelta(minutes=6)
    result = run(now=later)
    # Deliver here rather than queue: a row claimed by a task that died keeps its claim
    # lease (5 min) against the worker's real clock, and `later` is past it.
    due = services.notifications_due(now=later)
    for notification_id in due:
        services.notification_deliver(notification_id=notification_id, now=later)
    result["notifications_requeued"] = len(due)
    return result


def main() -> None:
    import django

    django.setup()
    from tests.faults import invariants

    command = sys.argv[1]
    raw = sys.stdin.read().strip()
    payload = json.loads(raw) if raw else {}
    payload = payload or {}
    if command == "prepare":
        result = prepare(payload)
    elif command == "invariants":
        result = invariants.check(acknowledged=payload.get("acknowledged", []))
    elif command == "reconcile":
        result = reconcile(payload)
    else:
        raise SystemExit(f"unknown command {command}")
    sys.stdout.write(json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
