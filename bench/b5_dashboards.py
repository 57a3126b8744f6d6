"""B5: SLA compliance dashboard, sales queue and lead list at full size, warm.

Baseline: the best hand-written SQL for each page's figures (the rows and totals the page
shows), timed through psycopg2 the same number of times. Ours: the real pages over HTTP
through gunicorn, logged in as the user who would look at them. Each page is also rendered
once in-process to count its queries (pinned below) and to prove it never reads the
activity table."""

from __future__ import annotations

import os
import time

from bench.common import Check, Figure, database_url, percentile, ratio_check, repeats
from bench.fixtures import Ctx, session_cookie
from bench.loadgen import run_load

REQUESTS = int(os.environ.get("BENCH_PAGE_REQUESTS", "40"))
# The most queries each page may make; raise only with a reason in the commit message.
PINNED_QUERIES = {"SLA dashboard": 25, "sales queue": 12, "lead list": 12}

BASELINE_SQL = {
    "SLA dashboard": [
        # Promise compliance per clock kind over the last 30 days.
        """SELECT c.kind, count(*) FILTER (WHERE c.status = 'met'),
                  count(*) FILTER (WHERE c.status = 'breached'), count(*)
           FROM sla_slaclock c JOIN leads_handoff h ON h.id = c.handoff_id
           WHERE h.created_at >= now() - interval '30 days' GROUP BY c.kind""",
        # Speed to lead: median minutes from handoff to first touch.
        """SELECT percentile_cont(0.5) WITHIN GROUP (
                    ORDER BY extract(epoch FROM h.first_touch_at - h.created_at) / 60)
           FROM leads_handoff h
           WHERE h.created_at >= now() - interval '30 days' AND h.first_touch_at IS NOT NULL""",
        # Per rep: handoffs, accepted, rejected, touches.
        """SELECT h.owner_id, count(*), count(h.accepted_at),
                  count(*) FILTER (WHERE h.status = 'rejected'),
                  sum((SELECT count(*) FROM leads_touch t WHERE t.handoff_id = h.id))
           FROM leads_handoff h
           WHERE h.created_at >= now() - interval '30 days' AND h.owner_id IS NOT NULL
           GROUP BY h.owner_id""",
        # Marketing side: MQLs handed over and rejected as not our ICP.
        """SELECT count(*), count(*) FILTER (WHERE h.reject_reason = 'not_icp')
           FROM leads_handoff h WHERE h.created_at >= now() - interval '30 days'""",
    ],
    "sales queue": [
        """SELECT h.id, h.created_at, h.accept_due_at, l.id, l.first_name, l.last_name,
                  l.title, l.company, l.score, t.name
           FROM leads_handoff h JOIN leads_lead l ON l.id = h.lead_id
           LEFT JOIN leads_salesteam t ON t.id = h.team_id
           WHERE h.status = 'pool' AND (h.team_id IS NULL OR h.team_id IN (
                 SELECT m.team_id FROM leads_teammember m WHERE m.user_id = %(user)s AND m.active))
           ORDER BY h.created_at, h.id LIMIT 50""",
        """SELECT h.id, h.status, h.accept_due_at, l.id, l.first_name, l.last_name, l.company
           FROM leads_handoff h JOIN leads_lead l ON l.id = h.lead_id
           WHERE h.owner_id = %(user)s AND h.status IN ('assigned', 'accepted')
           ORDER BY h.created_at LIMIT 50""",
    ],
    "lead list": [
        """SELECT l.id, l.first_name, l.last_name, l.email, l.company, l.title, l.score,
                  l.created_at, s.name
           FROM leads_lead l JOIN leads_stage s ON s.id = l.stage_id
           ORDER BY l.created_at DESC, l.id DESC LIMIT 50""",
        "SELECT count(*) FROM leads_lead",
    ],
}
PAGES = {
    "SLA dashboard": ("/sla/compliance/", "bench_admin"),
    "sales queue": ("/leads/queue/", "bench_rep000"),
    "lead list": ("/leads/", "bench_marketer"),
}


def baseline_p95(statements: list[str], user_id: int, n: int) -> float:
    import psycopg2

    conn = psycopg2.connect(database_url())
    conn.autocommit = True
    timings = []
    try:
        with conn.cursor() as cur:
            for i in range(n + 3):
                started = time.perf_counter()
                for sql in statements:
                    cur.execute(sql, {"user": user_id})
                    cur.fetchall()
                if i >= 3:  # warm-up
                    timings.append(time.perf_counter() - started)
    finally:
        conn.close()
    return percentile(timings, 95) * 1000


def page_queries(path: str, username: str) -> tuple[int, int, list[str]]:
    """(status, number of queries, queries that touch the activity table)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username=username))
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    sqls = [q["sql"] for q in captured.captured_queries]
    return response.status_code, len(sqls), [s for s in sqls if "leads_activity" in s]


def profile_page(path: str, username: str) -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from pyinstrument import Profiler

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username=username))
    client.get(path)
    profiler = Profiler(interval=0.001)
    profiler.start()
    client.get(path)
    profiler.stop()
    return profiler.output_text(unicode=False, color=False, show_all=False)[:3500]


def run(ctx: Ctx) -> list[Check]:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.in_bulk([u for _, u in PAGES.values()], field_name="username")
    checks = []
    details = {}
    profiles: list[str] = []
    for name, (path, username) in PAGES.items():
        status, count, activity = page_queries(path, username)
        if status != 200:
            raise RuntimeError(f"{name} ({path}) answered {status} in-process")
        headers = {"Cookie": session_cookie(username)}
        ours = Figure(f"{name} p95", "ms", higher_is_better=False)
        baseline = Figure(f"{name} hand-written SQL p95", "ms", higher_is_better=False)
        for _ in range(repeats()):
            baseline.samples.append(baseline_p95(BASELINE_SQL[name], users[username].pk, REQUESTS))
            result = run_load(
                port=ctx.port,
                make_request=lambda c, s, p=path, h=headers: ("GET", p, None, h),
                clients=1,
                duration=600,
                max_requests=REQUESTS,
                warmup=0.5,
            )
            if result.errors:
                raise RuntimeError(f"{name}: {dict(result.statuses)}")
            ours.samples.append(result.p(95))
        limit = 1.5 * baseline.median + 25
        checks.append(
            ratio_check(
                "B5",
                f"{name} ({path})",
                ours,
                baseline,
                at_most=1.5,
                plus=25,
                extra_ok=ours.median < 300,
                target="p95 <= 1.5 x SQL + 25 ms, and < 300 ms",
                note=f"limit here {limit:.0f} ms",
            )
        )
        pinned = PINNED_QUERIES[name]
        checks.append(
            Check(
                "B5",
                f"{name}: queries pinned, no activity scan",
                f"<= {pinned} queries; 0 reading leads_activity",
                None,
                None,
                None,
                count <= pinned and not activity,
                note=f"{count} queries, {len(activity)} touching leads_activity",
            )
        )
        details[f"{name} queries"] = count
        if not checks[-2].met:
            profiles.append(f"--- {name} ({path}) ---\n{profile_page(path, username)}")
    ctx.extras["b5_dashboards"] = {**details, "requests per repeat": REQUESTS}
    if profiles:
        ctx.extras["b5_dashboards"]["profile"] = "\n".join(profiles)
    return checks
