"""The benchmark harness in miniature: the generator at a tiny scale into the test database,
one benchmark (the raw claim loop of B6) end to end, and the report's JSON shape. The full
run is `make bench`; this only proves the harness still works."""

import json

import pytest
from django.conf import settings
from django.db import connection

from bench import generate, report
from bench.common import Figure, machine, ratio_check

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not settings.IS_POSTGRES, reason="the generator loads with COPY, which is PostgreSQL's"
    ),
]
SCALE = 0.0005


@pytest.fixture
def bench_points_at_test_db(monkeypatch):
    db = connection.settings_dict
    server = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    monkeypatch.setenv("BENCH_PG", server)
    monkeypatch.setenv("BENCH_DB", db["NAME"])


def _one(sql: str):
    with connection.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def test_generator_loads_consistent_skewed_data_at_a_tiny_scale(db):
    made = generate.populate(at_scale=SCALE, log=lambda _: None)
    sizes = generate.sizes(SCALE)
    assert made["leads"] == sizes["leads"] == 500
    assert made["activities"] == sizes["activities"] == 5000
    assert made["handoffs"] == sizes["handoffs"] == 25
    assert _one("SELECT count(*) FROM leads_activity") == 5000
    # COPY ran with the foreign-key triggers off, so check the keys by hand.
    assert (
        _one(
            "SELECT count(*) FROM leads_activity a LEFT JOIN leads_lead l ON l.id = a.lead_id "
            "WHERE l.id IS NULL"
        )
        == 0
    )
    qualified = (
        "SELECT count(*) FROM leads_handoff h "
        "JOIN leads_stagechange q ON q.id = h.qualification_id "
        "JOIN leads_stage s ON s.id = q.to_stage_id "
        "WHERE s.kind = 'mql' AND q.lead_id = h.lead_id"
    )
    assert _one(qualified) == 25
    assert (
        _one(
            "SELECT count(*) FROM leads_activity a JOIN leads_lead l ON l.id = a.lead_id "
            "WHERE a.occurred_at < l.created_at"
        )
        == 0
    )
    assert _one("SELECT count(*) FROM sla_slaclock") == 50
    # Skewed: the busiest 1% of leads carry far more than 1% of the activity.
    assert made["top_1pct_activity_share"] > 0.05
    assert _one("SELECT count(*) FROM leads_scoringmodel WHERE status = 'active'") == 1
    # The sequences moved past the copied ids, so the app can insert after a load.
    assert _one("SELECT nextval(pg_get_serial_sequence('leads_activity', 'id'))") > 5000


def test_a_benchmark_runs_end_to_end_and_the_report_has_its_shape(
    db, bench_points_at_test_db, tmp_path
):
    from bench import b6_claims

    locked = Figure("raw SKIP LOCKED claims/s, 4 reps", "claims/s")
    slow = Figure("raw SKIP LOCKED claims/s, 2 reps", "claims/s")
    doubles = 0
    for _ in range(2):
        rate, claims, found = b6_claims.raw_level(4, 200, locked=True)
        assert claims == 200
        locked.samples.append(rate)
        doubles += found
        rate, _, found = b6_claims.raw_level(2, 200, locked=True)
        slow.samples.append(rate)
        doubles += found
    assert doubles == 0
    check = ratio_check(
        "B6", "raw claims/s at 4 vs 2", locked, slow, at_least=0.0, target="shape only"
    )
    result = {
        "benchmark": "b6_claims",
        "checks": [check.as_dict()],
        "error": None,
        "seconds": 1.0,
        "finished_at": "2026-01-01T00:00:00Z",
        "extras": {"raw doubles with SKIP LOCKED": doubles},
    }
    doc = report.write(
        at_scale=SCALE,
        meta={"leads": 500, "activities": 5000, "handoffs": 25, "touches": 0, "seconds": {}},
        machine=machine(connection.connection),
        results=[result],
        repeats=2,
        docs=tmp_path,
    )
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_claim")

    saved = json.loads((tmp_path / "benchmarks.json").read_text())
    assert saved == json.loads(json.dumps(doc))
    assert set(saved) >= {"generated_at", "scale", "repeats", "data", "machine", "checks"}
    assert saved["machine"]["cores"] >= 1
    assert saved["machine"]["postgresql"]["synchronous_commit"] in (
        "on",
        "off",
        "local",
        "remote_write",
        "remote_apply",
    )
    row = saved["checks"][0]
    assert set(row) == {"id", "what", "target", "ours", "baseline", "ratio", "met", "note"}
    assert set(row["ours"]) >= {"median", "min", "max", "repeats", "unit"}
    assert row["ours"]["repeats"] == 2
    assert row["ours"]["min"] <= row["ours"]["median"] <= row["ours"]["max"]
    assert row["ratio"] == pytest.approx(row["ours"]["median"] / row["baseline"]["median"], 1e-2)
    page = (tmp_path / "benchmarks.md").read_text()
    assert "| B6 | raw claims/s at 4 vs 2 |" in page
    assert "synchronous_commit=" in page
