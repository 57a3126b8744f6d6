"""B2: batch ingest, 1,000 events per request.

Baseline: raw COPY of the same kind of rows (existing leads, new event ids, the same JSON
properties) into the same table with the same indexes, committed per copy. Figures are
rows per second."""

from __future__ import annotations

import io
import os
import time

from bench.common import Check, Figure, ratio_check, repeats
from bench.fixtures import Ctx, dumps, email_sample, event_body, event_id, profile_post
from bench.loadgen import run_load

BATCH = 1000
CLIENTS = int(os.environ.get("BENCH_BATCH_CLIENTS", "2"))
COPY_BATCHES = int(os.environ.get("BENCH_COPY_BATCHES", "20"))
BATCHES = int(os.environ.get("BENCH_BATCHES", "10"))  # requests per repeat


def raw_copy_rows_per_second(lead_ids: list[int]) -> float:
    """COPY BATCH x COPY_BATCHES activity rows in one statement and commit."""
    import psycopg2

    from bench.common import database_url

    lines = []
    for n in range(BATCH * COPY_BATCHES):
        lead_id = lead_ids[(n * 7919) % len(lead_ids)]
        lines.append(
            f'{lead_id}\tpage_view\tnow\tnow\t{{"url": "/features"}}\tbench\t{event_id()}\n'
        )
    data = "".join(lines)
    conn = psycopg2.connect(database_url())
    try:
        with conn.cursor() as cur:
            started = time.perf_counter()
            cur.copy_expert(
                "COPY leads_activity (lead_id, type, occurred_at, received_at, properties, "
                "source, event_id) FROM STDIN",
                io.StringIO(data),
            )
            conn.commit()
            elapsed = time.perf_counter() - started
    finally:
        conn.close()
    return len(lines) / elapsed


def run(ctx: Ctx) -> list[Check]:
    from django.db import connection

    emails = email_sample(20000, seed=11)
    with connection.cursor() as cur:
        cur.execute("SELECT id FROM leads_lead WHERE email = ANY(%s)", [emails])
        lead_ids = [row[0] for row in cur.fetchall()]
    headers = ctx.ingest_headers

    def make(client: int, seq: int):
        start = (client * 5003 + seq * BATCH) % len(emails)
        batch = [event_body(emails[(start + k) % len(emails)]) for k in range(BATCH)]
        return "POST", "/api/v1/events/", dumps(batch), headers

    baseline = Figure("raw COPY into leads_activity", "rows/s")
    ours = Figure("POST /api/v1/events/ x 1,000", "rows/s")
    latency = Figure("batch request p50", "ms", higher_is_better=False)
    for _ in range(repeats()):
        baseline.samples.append(raw_copy_rows_per_second(lead_ids))
        # A fixed number of batches rather than a time window: a 1,000-event request can
        # outlast a short window, and a window that catches none would read as 0 rows/s.
        run_load(
            port=ctx.port, make_request=make, clients=CLIENTS, duration=600, max_requests=CLIENTS
        )
        result = run_load(
            port=ctx.port,
            make_request=make,
            clients=CLIENTS,
            duration=600,
            max_requests=BATCHES,
        )
        if result.errors:
            raise RuntimeError(f"batch ingest: {result.errors} errors {dict(result.statuses)}")
        ours.samples.append(result.rps * BATCH)
        latency.samples.append(result.p(50))
    ctx.extras["b2_batch"] = {
        "events per request": BATCH,
        "clients": CLIENTS,
        "batch request p50 (ms)": round(latency.median, 1),
        "COPY rows per repeat": BATCH * COPY_BATCHES,
        "API rows per repeat": BATCH * BATCHES,
    }
    check = ratio_check(
        "B2",
        "batch ingest, 1,000 events per request",
        ours,
        baseline,
        at_least=0.25,
        target=">= 0.25 x raw COPY rows/s (stretch 0.5)",
    )
    if not check.met:
        _, path, body, headers = make(0, 0)
        ctx.extras["b2_batch"]["profile"] = profile_post(path, body, headers)
    return [check]
