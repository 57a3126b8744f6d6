"""B3: a qualifying event -> the rep's in-app notification committed, the email handed to
the mail backend and the signed webhook answered 2xx by a local receiver.

Each trial makes a fresh lead that fits a bench persona and posts one hand-raiser event
(demo_request) for it; the clock runs from just before the POST until the last of the
three deliveries (when a poller first sees the in-app and email rows committed as sent, and
the receiver's own arrival time for the webhook, whose signature it verifies). Meanwhile
single events arrive at 50% of B1's saturation. Baseline: a bare Celery hop (enqueue -> a
worker stamps the time in Redis) on the same workers with an empty queue, measured in the
same repeat."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.common import HOOK_PORT, Check, Figure, percentile, queue_settle, repeats, wait_for
from bench.fixtures import Ctx, dumps, email_sample, event_body, event_id
from bench.loadgen import Background

TRIALS = int(os.environ.get("BENCH_B3_TRIALS", "10"))
TIMEOUT = 10.0


class Receiver:
    """A webhook receiver on loopback: verifies the signature, answers 204, notes when."""

    def __init__(self, secret: str):
        self.secret = secret
        self.arrivals: dict[int, float] = {}
        self.bad = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                from smarketing.notifications.webhooks import WebhookVerificationError, verify

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrived = time.time()
                try:
                    verify(secret=receiver.secret, headers=dict(self.headers), body=body)
                    payload = json.loads(body)
                    data = payload.get("data", payload)
                    handoff_id = data.get("handoff_id") or data.get("payload", {}).get("handoff_id")
                    receiver.arrivals[int(handoff_id)] = arrived
                    self.send_response(204)
                except (WebhookVerificationError, ValueError, TypeError):
                    receiver.bad += 1
                    self.send_response(400)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", HOOK_PORT), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def setup_endpoint() -> str:
    """One webhook endpoint for every bench team, pointing at the receiver; its secret."""
    from django.utils import timezone

    from leads.routing.models import SalesTeam
    from smarketing.notifications.models import WebhookEndpoint
    from smarketing.notifications.webhooks import secret_generate

    url = f"http://127.0.0.1:{HOOK_PORT}/hook"
    endpoint = WebhookEndpoint.objects.filter(name="Bench receiver").first()
    if endpoint is None:
        endpoint = WebhookEndpoint.objects.create(
            name="Bench receiver", url=url, secret=secret_generate(), created_at=timezone.now()
        )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=url, active=True)
    endpoint.teams.set(SalesTeam.objects.filter(name__startswith="Bench team"))
    return endpoint.secret


def fresh_lead() -> int:
    """A new lead that fits the first bench persona fully and has not qualified."""
    from django.utils import timezone

    from leads.models import Lead, Stage

    now = timezone.now()
    tag = uuid.uuid4().hex[:12]
    return Lead.objects.create(
        email=f"b3-{tag}@bench3.example.com",
        first_name="Bea",
        last_name=f"Trial {tag[:4]}",
        title="Director of Marketing",
        seniority="director",
        department="Marketing",
        industry="Software",
        employees=500,
        company="Trialco",
        source="bench",
        stage=Stage.objects.get(slug="lead"),
        stage_entered_at=now,
        created_at=now,
        updated_at=now,
    ).pk


def seen_sent(lead_id: int) -> dict[str, bool]:
    """Which channels of the lead's handoff have a row committed as sent, right now."""
    from leads.handoff.models import Handoff
    from smarketing.notifications.models import Notification

    handoff_id = Handoff.objects.filter(lead_id=lead_id).values_list("pk", flat=True).first()
    if handoff_id is None:
        return {}
    channels = Notification.objects.filter(
        key__startswith=f"handoff:{handoff_id}:", status="sent"
    ).values_list("channel", flat=True)
    return {"_handoff": handoff_id, **dict.fromkeys(channels, True)}


def trial(ctx: Ctx, receiver: Receiver) -> dict[str, float] | None:
    """Latency per channel in seconds, or None when not all arrived within TIMEOUT.

    In-app and email count from when this poller first sees the row committed as sent (the
    rows' own timestamps are taken before their transaction commits, so they would flatter
    us); the webhook counts from the receiver's arrival time."""
    lead_id = fresh_lead()
    from leads.models import Lead

    email = Lead.objects.values_list("email", flat=True).get(pk=lead_id)
    body = dumps({"lead": {"email": email}, "type": "demo_request", "event_id": event_id()})
    # A fresh connection: a kept-alive one may have idled out while the last trial waited.
    conn = http.client.HTTPConnection("127.0.0.1", ctx.port, timeout=30)
    conn.connect()
    started = time.time()
    conn.request("POST", "/api/v1/events/", body=body, headers=ctx.ingest_headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"event answered {response.status}")
    first_seen: dict[str, float] = {}
    deadline = started + TIMEOUT
    while time.time() < deadline:
        seen = seen_sent(lead_id)
        now = time.time()
        for channel in ("in_app", "email"):
            if seen.get(channel):
                first_seen.setdefault(channel, now)
        handoff_id = seen.get("_handoff")
        if handoff_id in receiver.arrivals:
            first_seen.setdefault("webhook", receiver.arrivals[handoff_id])
        if len(first_seen) == 3:
            return {channel: at - started for channel, at in first_seen.items()}
        time.sleep(0.005)
    return None


def hop_latency() -> float:
    from bench.tasks import HOP_KEY, hop, hop_client

    client = hop_client()
    token = uuid.uuid4().hex
    started = time.time()
    hop.delay(token)
    stamp = wait_for(lambda: client.get(HOP_KEY.format(token)), timeout=TIMEOUT, interval=0.002)
    if not stamp:
        raise RuntimeError("the Celery hop did not run")
    return float(stamp) - started


def queue_length() -> int:
    import redis

    from bench.common import REDIS_URL

    return redis.Redis.from_url(REDIS_URL).llen("celery")


def profile_score_task() -> str:
    """pyinstrument over what each event costs a worker: one drain pass over its lead."""
    from django.db import connection
    from django.utils import timezone
    from pyinstrument import Profiler

    from leads.scoring.services import backlog_add, backlog_drain

    with connection.cursor() as cur:
        cur.execute("SELECT lead_id FROM leads_activity ORDER BY id DESC LIMIT 1")
        lead_id = cur.fetchone()[0]

    def one_pass():
        backlog_add(lead_ids=[lead_id], now=timezone.now())
        backlog_drain(now=timezone.now())

    one_pass()
    profiler = Profiler(interval=0.001)
    profiler.start()
    for _ in range(5):
        one_pass()
    profiler.stop()
    return (
        "5 drain passes of one lead (backlog row in, score, row out):\n"
        + profiler.output_text(unicode=False, color=False, show_all=False)[:5000]
    )


def run(ctx: Ctx) -> list[Check]:
    secret = setup_endpoint()
    emails = email_sample(3000, seed=3)
    rate = 0.5 * (ctx.events_rps or 40)
    headers = ctx.ingest_headers

    def background(client: int, seq: int):
        email = emails[(client * 131 + seq * 7) % len(emails)]
        return "POST", "/api/v1/events/", dumps(event_body(email)), headers

    ours_p50 = Figure("event -> 3 channels delivered, p50", "ms", higher_is_better=False)
    ours_p99 = Figure("event -> 3 channels delivered, p99", "ms", higher_is_better=False)
    hop_p50 = Figure("bare Celery hop, p50", "ms", higher_is_better=False)
    hop_p99 = Figure("bare Celery hop, p99", "ms", higher_is_better=False)
    per_channel: dict[str, list[float]] = {"in_app": [], "email": [], "webhook": []}
    timeouts = 0
    backlog: list[int] = []
    with Receiver(secret) as receiver:
        for _ in range(repeats()):
            # The baseline hop runs on an idle queue: the fastest a hop can be here. Under
            # the background load it would wait behind the app's own scoring tasks.
            queue_settle()
            hops = [hop_latency() for _ in range(TRIALS)]
            with Background(port=ctx.port, make_request=background, clients=4, rate=rate):
                time.sleep(1.0)
                totals = []
                for _ in range(TRIALS):
                    result = trial(ctx, receiver)
                    if result is None:
                        # Counted at the timeout: a censored sample, never dropped.
                        timeouts += 1
                        totals.append(TIMEOUT)
                        continue
                    totals.append(max(result.values()))
                    for channel, value in result.items():
                        per_channel[channel].append(value)
                backlog.append(queue_length())
            hop_p50.samples.append(percentile(hops, 50) * 1000)
            hop_p99.samples.append(percentile(hops, 99) * 1000)
            ours_p50.samples.append(percentile(totals, 50) * 1000)
            ours_p99.samples.append(percentile(totals, 99) * 1000)
        bad = receiver.bad
    ctx.extras["b3_notify"] = {
        "trials per repeat": TRIALS,
        "background events/s": round(rate, 1),
        **{
            f"{channel} p50 (ms)": round(percentile(values, 50) * 1000, 1)
            for channel, values in per_channel.items()
        },
        "webhooks with a bad signature": bad,
        f"trials not delivered within {TIMEOUT:.0f} s (counted as {TIMEOUT:.0f} s)": timeouts,
        "Celery queue length after each repeat": ", ".join(map(str, backlog)),
    }
    p50_ratio = ours_p50.median / hop_p50.median if hop_p50.median else float("inf")
    p99_ratio = ours_p99.median / hop_p99.median if hop_p99.median else float("inf")
    checks = [
        Check(
            "B3",
            "event -> notified, p50",
            "<= 5 x bare Celery hop p50",
            ours_p50,
            hop_p50,
            p50_ratio,
            p50_ratio <= 5 and timeouts == 0,
        ),
        Check(
            "B3",
            "event -> notified, p99",
            "<= 10 x hop p99 and < 1 s",
            ours_p99,
            hop_p99,
            p99_ratio,
            p99_ratio <= 10 and ours_p99.median < 1000 and bad == 0 and timeouts == 0,
        ),
    ]
    if not all(c.met for c in checks):
        ctx.extras["b3_notify"]["profile"] = profile_score_task()
    return checks
