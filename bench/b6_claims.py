"""B6: concurrent claims of "the next lead" by 2, 8, 32 and 64 reps.

Raw: a psycopg2 loop per rep running `UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP
LOCKED LIMIT 1) RETURNING id` on a claim table; every claimed id is recorded, so a row
claimed twice shows up. The same harness with the lock removed (read, then update) must
find doubles, or it proves nothing. API: POST /api/v1/queue/next/ through gunicorn, one
token per rep, against the pool handoffs of their teams; claimed handoffs are put back in
the pool after each level."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

from bench.common import Check, Figure, database_url, ratio_check, repeats, scale
from bench.fixtures import Ctx, api_token
from bench.loadgen import run_load

LEVELS = (2, 8, 32, 64)
API_SECONDS = float(os.environ.get("BENCH_DURATION", "5"))

CLAIM_LOCKED = """
    UPDATE bench_claim SET claimed_by = %s, claimed_at = clock_timestamp()
    WHERE id = (SELECT id FROM bench_claim WHERE claimed_by IS NULL
                ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
    RETURNING id
"""
READ_UNLOCKED = "SELECT id FROM bench_claim WHERE claimed_by IS NULL ORDER BY id LIMIT 1"
CLAIM_UNLOCKED = (
    "UPDATE bench_claim SET claimed_by = %s, claimed_at = clock_timestamp() WHERE id = %s"
)


def attempts_total() -> int:
    return max(2000, round(1_000_000 * scale()))


def prepare(cur, rows: int) -> None:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS bench_claim (id bigint PRIMARY KEY, claimed_by int, "
        "claimed_at timestamptz)"
    )
    cur.execute("TRUNCATE bench_claim")
    cur.execute("INSERT INTO bench_claim (id) SELECT g FROM generate_series(1, %s) g", [rows])
    # The work list only: a claimed row leaves it, so reps never wade through taken ones.
    cur.execute(
        "CREATE INDEX IF NOT EXISTS bench_claim_open ON bench_claim (id) WHERE claimed_by IS NULL"
    )
    cur.execute("VACUUM ANALYZE bench_claim")


def raw_level(reps: int, attempts: int, *, locked: bool) -> tuple[float, int, int]:
    """Run `attempts` claims split over `reps` connections; (claims/s, claims, doubles)."""
    import psycopg2

    admin = psycopg2.connect(database_url())
    admin.autocommit = True
    with admin.cursor() as cur:
        prepare(cur, attempts + reps)
    admin.close()
    claimed: list[list[int]] = [[] for _ in range(reps)]
    per_rep = attempts // reps
    barrier = threading.Barrier(reps + 1)

    def rep(index: int) -> None:
        conn = psycopg2.connect(database_url())
        mine = claimed[index]
        with conn.cursor() as cur:
            barrier.wait()
            for _ in range(per_rep):
                if locked:
                    cur.execute(CLAIM_LOCKED, [index])
                    row = cur.fetchone()
                else:
                    cur.execute(READ_UNLOCKED)
                    row = cur.fetchone()
                    if row:
                        cur.execute(CLAIM_UNLOCKED, [index, row[0]])
                conn.commit()
                if row:
                    mine.append(row[0])
        conn.close()

    threads = [threading.Thread(target=rep, args=(i,)) for i in range(reps)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    counts = Counter(i for ids in claimed for i in ids)
    total = sum(counts.values())
    doubles = sum(c - 1 for c in counts.values() if c > 1)
    return total / elapsed, total, doubles


def pool_tokens(reps: int) -> list[str]:
    return [api_token(f"bench_rep{r:03d}") for r in range(reps)]


REOPEN = (
    "UPDATE leads_handoff SET status = 'pool', owner_id = NULL, assigned_at = NULL "
    "WHERE id = ANY(%s)"
)


def reopen(handoff_ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(REOPEN, [handoff_ids])


def api_level(ctx: Ctx, reps: int) -> tuple[float, int, int]:
    """(claims/s, claims, doubles) of POST /api/v1/queue/next/ by `reps` reps at once.

    A helper thread keeps the pools stocked by putting claimed handoffs back. A handoff
    leaves the "held" set before it is reopened in the database, so a second claim of a
    held handoff can only be a double claim."""
    import json

    tokens = pool_tokens(reps)
    held: set[int] = set()
    claimed_ids: list[int] = []
    doubles = [0]
    lock = threading.Lock()
    stop = threading.Event()

    def make(client: int, seq: int):
        return "POST", "/api/v1/queue/next/", b"", {"Authorization": f"Token {tokens[client]}"}

    def on_response(client: int, seq: int, status: int, body: bytes) -> None:
        if status == 200:
            handoff_id = json.loads(body)["id"]
            with lock:
                if handoff_id in held:
                    doubles[0] += 1
                held.add(handoff_id)
                claimed_ids.append(handoff_id)

    def restock() -> None:
        import psycopg2

        conn = psycopg2.connect(database_url())
        conn.autocommit = True
        with conn.cursor() as cur:
            while not stop.wait(0.2):
                with lock:
                    batch = list(held)
                    held.clear()
                if batch:
                    cur.execute(REOPEN, [batch])
        conn.close()

    helper = threading.Thread(target=restock, daemon=True)
    helper.start()
    try:
        result = run_load(
            port=ctx.port,
            make_request=make,
            clients=reps,
            duration=API_SECONDS,
            ok_statuses=(200, 409),
            on_response=on_response,
        )
    finally:
        stop.set()
        helper.join()
    reopen(list(set(claimed_ids)))
    claims = result.statuses.get(200, 0)
    return claims / result.elapsed if result.elapsed else 0.0, claims, doubles[0]


def run(ctx: Ctx) -> list[Check]:
    total = attempts_total()
    per_level = total // len(LEVELS)
    raw = {}
    doubles_locked = attempts = 0
    for reps in LEVELS:
        figure = Figure(f"raw SKIP LOCKED claims/s, {reps} reps", "claims/s")
        # The attempts are split over the repeats, so the total stays `total`.
        for _ in range(repeats()):
            rate, claims, doubles = raw_level(reps, per_level // repeats(), locked=True)
            figure.samples.append(rate)
            attempts += claims
            doubles_locked += doubles
        raw[reps] = figure
    _, unlocked_claims, doubles_unlocked = raw_level(32, min(20000, per_level), locked=False)

    api = {}
    api_doubles = 0
    for reps in LEVELS:
        figure = Figure(f"API claims/s, {reps} reps", "claims/s")
        for _ in range(repeats()):
            rate, _, doubles = api_level(ctx, reps)
            figure.samples.append(rate)
            api_doubles += doubles
        api[reps] = figure

    hello = Figure("bare DRF hello (B1)", "req/s")
    if ctx.hello_rps:
        hello.samples.append(ctx.hello_rps)
    best_api = max(api.values(), key=lambda f: f.median)
    ctx.extras["b6_claims"] = {
        "raw attempts with SKIP LOCKED": attempts,
        "raw doubles with SKIP LOCKED": doubles_locked,
        "unlocked harness claims": unlocked_claims,
        "unlocked harness doubles (must be > 0)": doubles_unlocked,
        "API doubles": api_doubles,
        **{f"raw claims/s at {r}": round(f.median) for r, f in raw.items()},
        **{f"API claims/s at {r}": round(f.median) for r, f in api.items()},
    }
    checks = [
        Check(
            "B6",
            f"double claims over {attempts:,} raw + API attempts",
            "0 with locking; > 0 without (the harness can see them)",
            None,
            None,
            None,
            doubles_locked == 0 and api_doubles == 0 and doubles_unlocked > 0,
            note=(
                f"locked: {doubles_locked}, API: {api_doubles}, "
                f"unlocked harness: {doubles_unlocked} doubles in {unlocked_claims:,} claims"
            ),
        ),
        ratio_check(
            "B6",
            f"API claims/s (best level, {best_api.name.split(', ')[1]})",
            best_api,
            hello,
            at_least=0.5,
            target=">= 0.5 x bare DRF hello req/s",
        ),
        ratio_check(
            "B6",
            "raw claims/s at 32 reps vs 2 reps",
            raw[32],
            raw[2],
            at_least=0.8,
            target="rate at 32 >= 0.8 x rate at 2",
        ),
    ]
    if not checks[1].met:
        ctx.extras["b6_claims"]["profile"] = profile_claim()
    return checks


def profile_claim() -> str:
    """pyinstrument over one in-process claim through the API; the claimed handoffs go
    back to the pool afterwards."""
    from bench.fixtures import profile_post
    from leads.handoff.models import Handoff

    mine = Handoff.objects.filter(owner__username="bench_rep000", status="assigned")
    before = set(mine.values_list("pk", flat=True))
    headers = {"Authorization": f"Token {api_token('bench_rep000')}"}
    text = profile_post("/api/v1/queue/next/", b"", headers)
    reopen(list(set(mine.values_list("pk", flat=True)) - before))
    return text
