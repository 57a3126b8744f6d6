"""B1: single-event ingest, POST /api/v1/events/, keep-alive clients.

Baseline: a bare DRF "hello" view under the same gunicorn config and middleware. Figures:
saturation throughput of each (closed loop), and the app's p99 at 70% of its own
saturation (open loop, latency from the scheduled send time)."""

from __future__ import annotations

import os

from bench.common import Check, Figure, ratio_check, repeats
from bench.fixtures import Ctx, dumps, email_sample, event_body, profile_post
from bench.loadgen import run_load

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
DURATION = float(os.environ.get("BENCH_DURATION", "5"))


def hello_request(client: int, seq: int):
    return "GET", "/bench/hello/", None, {}


def events_request_factory(ctx: Ctx, emails: list[str]):
    headers = ctx.ingest_headers

    def make(client: int, seq: int):
        email = emails[(client * 7919 + seq * 104729) % len(emails)]
        return "POST", "/api/v1/events/", dumps(event_body(email)), headers

    return make


def saturation(ctx: Ctx, make, name: str) -> Figure:
    figure = Figure(name, "req/s")
    for _ in range(repeats()):
        result = run_load(
            port=ctx.port, make_request=make, clients=CLIENTS, duration=DURATION, warmup=1.0
        )
        if result.errors:
            raise RuntimeError(f"{name}: {result.errors} errors {dict(result.statuses)}")
        figure.samples.append(result.rps)
    return figure


def run(ctx: Ctx) -> list[Check]:
    emails = email_sample(5000)
    make_event = events_request_factory(ctx, emails)
    hello = saturation(ctx, hello_request, "bare DRF hello")
    ours = saturation(ctx, make_event, "POST /api/v1/events/ (one event)")
    ctx.hello_rps, ctx.events_rps = hello.median, ours.median
    ctx.extras["b1_ingest"] = {"hello_rps": hello.median, "events_rps": ours.median}

    at = 0.7 * ours.median
    p99 = Figure(f"p99 at 70% of saturation ({at:.0f} req/s)", "ms", higher_is_better=False)
    for _ in range(repeats()):
        result = run_load(
            port=ctx.port, make_request=make_event, clients=CLIENTS, duration=DURATION, rate=at
        )
        p99.samples.append(result.p(99))
    checks = [
        ratio_check(
            "B1",
            "single-event ingest throughput",
            ours,
            hello,
            at_least=0.5,
            target=">= 0.5 x bare DRF hello req/s",
        ),
        Check(
            "B1",
            "single-event ingest p99 at 70% of saturation",
            "<= 50 ms",
            p99,
            None,
            None,
            p99.median <= 50,
        ),
    ]
    if not all(c.met for c in checks):
        _, path, body, headers = make_event(0, 0)
        ctx.extras["b1_ingest"]["profile"] = profile_post(path, body, headers)
    return checks
