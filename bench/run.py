"""`make bench`: build (or reuse) the bench database, start gunicorn and Celery, run every
benchmark with its same-run baseline, and write docs/benchmarks.md and .json.

Environment: BENCH_SCALE (default 0.1; 1.0 is the issue's size), BENCH_REPEATS (default 5),
BENCH_ONLY=b1,b4 (run some; the report keeps the others' last results at this scale),
BENCH_DURATION (seconds per load window), BENCH_FORCE_GENERATE=1 (rebuild the data),
BENCH_DOCS_DIR (write the report elsewhere than docs/, e.g. for a trial run).
Each benchmark's result is saved as soon as it finishes, so a run that dies can be resumed
with BENCH_ONLY naming what is missing."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from bench.common import (
    ROOT,
    VAR_DIR,
    Services,
    bench_env,
    database_url,
    disk_settle,
    django_setup,
    machine,
    queue_settle,
    repeats,
    scale,
)

BENCHMARKS = [
    "b1_ingest",
    "b2_batch",
    "b3_notify",
    "b4_rescore",
    "b5_dashboards",
    "b6_claims",
    "b7_import",
]


def results_dir(at_scale: float) -> Path:
    path = VAR_DIR / "results" / f"scale-{at_scale:g}"
    path.mkdir(parents=True, exist_ok=True)
    return path


# The order they run in: B4 last, because its first rescore of freshly generated data hands
# tens of thousands of leads to Sales (leads the generator left below the MQL line that the
# model qualifies), which would otherwise swell the month the dashboards (B5) and the claim
# pool (B6) are measured on far beyond the generated one.
RUN_ORDER = [name for name in BENCHMARKS if name != "b4_rescore"] + ["b4_rescore"]


def selected() -> list[str]:
    only = [s.strip() for s in os.environ.get("BENCH_ONLY", "").split(",") if s.strip()]
    if not only:
        return RUN_ORDER
    return [name for name in RUN_ORDER if name.split("_")[0] in only or name in only]


def run_one(name: str, ctx) -> dict:
    module = importlib.import_module(f"bench.{name}")
    started = time.monotonic()
    print(f"== {name}: {module.__doc__.strip().splitlines()[0]}", flush=True)
    try:
        checks = module.run(ctx)
        error = None
    except Exception as exc:  # one broken benchmark must not lose the others' figures
        traceback.print_exc()
        checks, error = [], f"{exc.__class__.__name__}: {exc}"
    result = {
        "benchmark": name,
        "checks": [c.as_dict() for c in checks],
        "error": error,
        "seconds": round(time.monotonic() - started, 1),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "extras": ctx.extras.pop(name, {}),
    }
    for check in result["checks"]:
        ours = check["ours"]
        base = check["baseline"]
        print(
            f"   {check['id']} {check['what']}: {ours['median'] if ours else '-'} "
            f"{ours['unit'] if ours else ''} vs {base['median'] if base else '-'} "
            f"-> ratio {check['ratio']} met={check['met']}",
            flush=True,
        )
    return result


def main() -> int:
    from bench import generate, report

    # A `timeout` or Ctrl-C must still stop gunicorn and Celery (they run in their own
    # process groups): turn SIGTERM into an exit that unwinds `with Services()`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    at_scale = scale()
    started = time.monotonic()
    meta = generate.ensure(at_scale=at_scale, force=os.environ.get("BENCH_FORCE_GENERATE") == "1")
    django_setup()
    # Production settings serve hashed static files; pages (B5) need the manifest.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        check=True,
        env=bench_env(),
        cwd=ROOT,
    )
    import psycopg2

    from bench.fixtures import make_ctx

    conn = psycopg2.connect(database_url())
    description = machine(conn)
    conn.close()
    out = results_dir(at_scale)
    names = selected()
    with Services() as services:
        services.start_web()
        services.start_celery()
        ctx = make_ctx()
        previous = out / "b1_ingest.json"
        if "b1_ingest" not in names and previous.exists():
            # B3 and B6 are sized from B1's figures; reuse the last ones at this scale.
            extras = json.loads(previous.read_text()).get("extras", {})
            ctx.hello_rps, ctx.events_rps = extras.get("hello_rps"), extras.get("events_rps")
        for name in names:
            purged = queue_settle()
            checkpoint = disk_settle()
            result = run_one(name, ctx)
            result["tasks purged before the run"] = purged
            result["checkpoint before the run (s)"] = round(checkpoint, 1)
            (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    report.write(
        at_scale=at_scale,
        meta=meta,
        machine=description,
        results=[
            json.loads((out / f"{n}.json").read_text())
            for n in BENCHMARKS
            if (out / f"{n}.json").exists()
        ],
        repeats=repeats(),
        docs=Path(os.environ["BENCH_DOCS_DIR"]) if os.environ.get("BENCH_DOCS_DIR") else None,
    )
    print(f"done in {time.monotonic() - started:.0f} s; see docs/benchmarks.md", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
