"""Credentials and request bodies the benchmarks share. Needs Django set up for the bench
database (`bench.common.django_setup`)."""

from __future__ import annotations

import itertools
import json
import os
import random
from dataclasses import dataclass, field
from typing import Any

from bench.common import WEB_PORT

_run_tag = f"{os.getpid()}-{random.Random().randrange(1 << 30):x}"
_counter = itertools.count()


def event_id() -> str:
    """Unique across runs, so every benchmark event is new (never a duplicate)."""
    return f"b-{_run_tag}-{next(_counter)}"


@dataclass
class Ctx:
    """What one `make bench` run shares between benchmarks."""

    port: int = WEB_PORT
    ingest_key: str = ""
    lead_count: int = 0
    hello_rps: float | None = None
    events_rps: float | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def ingest_headers(self) -> dict[str, str]:
        return {"Authorization": f"Api-Key {self.ingest_key}", "Content-Type": "application/json"}


def make_ctx() -> Ctx:
    from django.utils import timezone

    from leads.models import Lead
    from smarketing.models import IngestKey

    _, raw = IngestKey.issue(name=f"bench {_run_tag}", now=timezone.now())
    return Ctx(ingest_key=raw, lead_count=Lead.objects.count())


def email_sample(n: int, *, seed: int = 7) -> list[str]:
    """`n` existing leads' emails spread over the whole table (a skewed pick is not
    needed: the lead lookup is by a unique index either way)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT max(id) FROM leads_lead")
        top = cur.fetchone()[0] or 1
        ids = random.Random(seed).sample(range(1, top + 1), min(n, top))
        cur.execute("SELECT email FROM leads_lead WHERE id = ANY(%s) AND email <> ''", [ids])
        return [row[0] for row in cur.fetchall()]


def event_body(email: str, *, kind: str = "page_view", url: str = "/features") -> dict:
    return {
        "lead": {"email": email},
        "type": kind,
        "event_id": event_id(),
        "properties": {"url": url} if kind == "page_view" else {},
        "source": "bench",
    }


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def api_token(username: str) -> str:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.get(username=username)
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def session_cookie(username: str) -> str:
    """A logged-in session for `username`, as a Cookie header value."""
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def profile_post(path: str, body: bytes, headers: dict[str, str]) -> str:
    """pyinstrument over one in-process POST: the profile shown next to a missed target."""
    from django.test import Client
    from pyinstrument import Profiler

    client = Client(HTTP_HOST="127.0.0.1")
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    extra.pop("HTTP_CONTENT_TYPE", None)
    client.post(path, body, content_type="application/json", **extra)  # warm
    profiler = Profiler(interval=0.001)
    profiler.start()
    client.post(path, body, content_type="application/json", **extra)
    profiler.stop()
    return profiler.output_text(unicode=False, color=False, show_all=False)[:5000]
