"""Schemathesis against our own OpenAPI schema, in process through the WSGI app.

Every operation is fuzzed as an admin (a token), anonymously, and the intake operations
with an ingest key, plus stateful workflows as an admin; generated data is both valid
(positive) and invalid (negative). The checks: never a 5xx, every status code and content
type documented, every body matching the schema, credentials enforced. The schema is built
once at collection (`/api/schema/` needs a signed-in user, so `from_wsgi` cannot fetch it
then) and a test proves it equal to what `/api/schema/` serves.

Knobs: FUZZ_EXAMPLES (per operation, default 20), FUZZ_STATEFUL_EXAMPLES, FUZZ_SEED,
FUZZ_COVERAGE=1 (adds schemathesis' coverage phase: thousands of boundary cases more)."""

import copy
import json
import os
from collections import Counter
from datetime import UTC, datetime

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from smarketing.models import IngestKey

pytestmark = pytest.mark.fuzz

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "15"))
SEED = int(os.environ.get("FUZZ_SEED", "20261127"))
INTAKE = ("/api/v1/leads/", "/api/v1/events/")


def _schema_document() -> dict:
    """The document /api/schema/ serves (a test below proves they are the same), built
    here so that collection can make one test per operation without a database."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


DOCUMENT = _schema_document()
# The coverage phase (boundary values of every field, hundreds of cases per body) takes
# minutes; CI runs the example and fuzzing phases, FUZZ_COVERAGE=1 adds it.
COVERAGE = os.environ.get("FUZZ_COVERAGE", "") == "1"
CONFIG = schemathesis.Config.from_dict(
    {"seed": SEED, "phases": {"coverage": {"enabled": COVERAGE}}}
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


class InTestWsgiApp:
    """Django's WSGI handler, minus what would break a test: like Django's test client, it
    keeps the request signals from closing the test's database connection."""

    def __init__(self):
        self.handler = WSGIHandler()

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = self.handler(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


APP = InTestWsgiApp()
schema.app = APP
# Cases run, by mode: reported at the end of the module (docs/reliability.md quotes them).
CASES: Counter[str] = Counter()

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture
def world(db, admin_user, rep):
    """One of each object the detail endpoints take, so that generated ids sometimes hit
    a real row instead of always answering 404."""
    from django.utils import timezone

    from leads.handoff.models import HandoffStatus
    from leads.scoring.models import RescoreJob
    from personas.models import ContentPiece, ProspectQuestion
    from sla import services as sla_services
    from sla.models import BusinessCalendar
    from smarketing.notifications import services as notify
    from tests.factories import FunnelGoalFactory, PersonaFactory
    from tests.leads.factories import FormSiteFactory
    from tests.leads.queue_fixtures import make_handoff, make_team
    from tests.leads.scoring_fixtures import make_model

    team = make_team("West", rep)
    handoff = make_handoff(team=team, owner=rep, status=HandoffStatus.ASSIGNED)
    make_handoff(team=team)
    model = make_model(status="draft")
    return {
        "personas": PersonaFactory(name="Ops lead").pk,
        "content": ContentPiece.objects.create(
            title="ROI guide",
            url="https://example.com/roi",
            format="ebook",
            stage="awareness",
            authored_by_team="marketing",
            created_at=NOW,
            updated_at=NOW,
        ).pk,
        "prospect-questions": ProspectQuestion.objects.create(
            question="Does it do SSO?", submitted_at=NOW
        ).pk,
        "leads": handoff.lead_id,
        "scoring-models": model.pk,
        "rescores": RescoreJob.objects.create(model=model, created_at=NOW).pk,
        "goals": FunnelGoalFactory().pk,
        "sla": sla_services.agreement_create(actor=admin_user, now=NOW).pk,
        "calendars": BusinessCalendar.objects.create(
            name="UTC", weekly_hours={str(d): [["09:00", "17:00"]] for d in range(1, 6)}
        ).pk,
        "notifications": notify.notification_enqueue(
            kind="handoff",
            key="fuzz-1",
            channel="in_app",
            recipient=admin_user,
            title="New lead",
            now=timezone.now(),
        ).pk,
        "site_key": FormSiteFactory(allowed_origins=[]).site_key,
    }


def _aim_at_real_rows(case, world) -> None:
    """Half of the generated ids are swapped for a row that exists (chosen by the
    generated value, so a run stays reproducible)."""
    params = case.path_parameters or {}
    if "id" in params and isinstance(params["id"], int) and params["id"] % 2 == 0:
        segments = [s for s in case.operation.path.split("/") if s and not s.startswith("{")]
        resource = "calendars" if "calendars" in segments else segments[2]
        if resource in world:
            params["id"] = world[resource]
    if "site_key" in params and isinstance(params["site_key"], str) and len(params["site_key"]) % 2:
        params["site_key"] = world["site_key"]


# Fixed secrets: schemathesis asks for credentials while it collects (no database then),
# and the `credentials` fixture stores rows that accept them.
ADMIN_TOKEN = "fuzz0admin0token0000000000000000000000000"[:40]
INGEST_KEY = "fuzzkey0.website-ingest-key-for-the-fuzz-tests"


@pytest.fixture
def credentials(admin_user) -> None:
    Token.objects.create(user=admin_user, key=ADMIN_TOKEN)
    IngestKey.objects.create(
        name="Website",
        prefix=INGEST_KEY[: IngestKey.PREFIX_LENGTH],
        key_hash=IngestKey.hash_key(INGEST_KEY),
        created_at=NOW,
    )


class AdminToken:
    def get(self, case, ctx):
        return f"Token {ADMIN_TOKEN}"

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": data}


class WebsiteIngestKey(AdminToken):
    def get(self, case, ctx):
        return f"Api-Key {INGEST_KEY}"


# Two checks judge intent the schema cannot state. Schema-valid input may still be refused
# (an unknown persona id in a filter, no active scoring model to rescore with: a documented
# 400). And DRF reads some schema-invalid input leniently on purpose (a number sent for a
# text field is text, an empty filter is no filter). What every case must do: never a 5xx,
# a documented status, a body that matches the schema.
EXCLUDED = [positive_data_acceptance, negative_data_rejection]


@schema.parametrize()
@schema.auth.apply(AdminToken, refresh_interval=None)
@FUZZ_SETTINGS
def test_every_operation_holds_up_for_an_admin(case, world, credentials):
    _aim_at_real_rows(case, world)
    CASES["admin"] += 1
    case.call_and_validate(excluded_checks=EXCLUDED)


@schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=max(5, EXAMPLES // 4))
def test_every_operation_holds_up_anonymously(case, db):
    CASES["anonymous"] += 1
    case.call_and_validate(excluded_checks=EXCLUDED)


@schema.include(path=list(INTAKE), method="POST").parametrize()
@schema.auth.apply(WebsiteIngestKey, refresh_interval=None)
@settings(FUZZ_SETTINGS, max_examples=EXAMPLES * 5)
def test_intake_holds_up_for_an_ingest_key(case, credentials):
    CASES["ingest key"] += 1
    case.call_and_validate(excluded_checks=EXCLUDED)


# Stateful: sequences of calls where one response feeds the next (POST a persona, then
# GET/PATCH/sign it off), along links schemathesis infers from the schema's ids.
stateful_schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT), config=CONFIG)
stateful_schema.app = APP
stateful_schema.auth(AdminToken, refresh_interval=None)


class AdminWorkflows(stateful_schema.as_state_machine()):
    def step(self, input):
        CASES["admin, stateful"] += 1
        return super().step(input)

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        case.validate_response(
            response,
            additional_checks=additional_checks,
            excluded_checks=EXCLUDED,
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


def test_workflows_hold_up_for_an_admin(world, credentials):
    AdminWorkflows.run(
        settings=settings(FUZZ_SETTINGS, max_examples=STATEFUL_EXAMPLES, stateful_step_count=8)
    )


@pytest.fixture(scope="module", autouse=True)
def _report_cases(request):
    yield
    if CASES:
        counts = ", ".join(f"{mode}: {n}" for mode, n in sorted(CASES.items()))
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print(f"\nschemathesis cases run: {sum(CASES.values())} ({counts})")  # noqa: T201


def test_the_served_schema_is_the_one_fuzzed(client_for, admin_user):
    response = client_for(admin_user).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert json.loads(response.content) == DOCUMENT


def _api_routes(patterns, prefix: str = "") -> set[str]:
    routes: set[str] = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes |= _api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            routes.add(route)
    return routes


def _as_openapi_path(route: str) -> str:
    import re

    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    return "/" + route.replace("{pk}", "{id}")


def test_the_schema_documents_every_api_endpoint():
    routes = {_as_openapi_path(r) for r in _api_routes(get_resolver().url_patterns)}
    # DRF routers add a format-suffix twin of every route; the schema leaves those out.
    routes = {r for r in routes if "{format}" not in r}
    assert routes == set(DOCUMENT["paths"])
