"""Who may open which page and call which endpoint: ONE allow/deny table, checked for
every principal (each role, a second rep, a signed-in user with no role, anonymous and an
ingest key). A new named URL without a row fails `test_every_named_url_has_a_row`.

Reading a row: `(url name, method, who is allowed)`. Everyone not listed is denied:
a signed-in user gets 403 (404 where the object is someone else's and its existence is
not shown), anonymous gets the login page (pages) or 401/403 (API), an ingest key gets the
login page (pages) or 403 (API, except the intake endpoints). Allowed means "not denied
and no server error": an empty POST may well answer 400 or 409, which is the point of
the action's own tests, not of this one. Objects come from `access_fixtures.world`: the
handoff and its lead belong to REP2, the in-app notification to REP."""

from functools import reduce

import pytest
from django.db import transaction
from django.test import Client
from django.urls import get_resolver, reverse
from rest_framework.test import APIClient

from smarketing.models import IngestKey
from tests.smarketing.access_fixtures import (  # noqa: F401
    NOW,
    actors_fixture,
    world_fixture,
)


class Who(frozenset):
    def __or__(self, other):
        return Who(frozenset.__or__(self, other))


ANON, KEY, MK, MM, REP, REP2, SM, ADM, OUT = (
    Who({p}) for p in ("anon", "key", "mk", "mm", "rep", "rep2", "sm", "adm", "out")
)
NOBODY = Who()
EVERYONE = reduce(Who.__or__, (ANON, KEY, MK, MM, REP, REP2, SM, ADM, OUT))
USERS = {
    "mk": "marketer",
    "mm": "marketing_manager",
    "rep": "rep",
    "rep2": "rep2",
    "sm": "sales_manager",
    "adm": "admin_user",
    "out": "outsider",
}

# fmt: off
MATRIX = [
    ("api-docs", "GET", MK|MM|REP|REP2|SM|ADM|OUT),
    ("api-events", "POST", KEY|MK|MM|ADM),
    ("api-form-capture", "POST", ANON|KEY|MK|MM|REP|REP2|SM|ADM|OUT),
    ("api-lead-accept", "POST", REP2),
    ("api-lead-claim", "POST", REP|REP2|SM|ADM),
    ("api-lead-detail", "GET", MK|MM|REP|REP2|SM|ADM),
    ("api-lead-disqualify", "POST", REP2),
    ("api-lead-erase", "POST", MM|SM|ADM),
    ("api-lead-export", "GET", MK|MM|SM|ADM),
    ("api-lead-qualify", "POST", REP2),
    ("api-lead-reject", "POST", REP|REP2|SM|ADM),
    ("api-lead-stage", "POST", MK|MM|SM|ADM),
    ("api-lead-touches", "POST", REP|REP2|SM|ADM),
    ("api-leads", "GET", MK|MM|REP|REP2|SM|ADM),
    ("api-leads", "POST", KEY|MK|MM|ADM),
    ("api-notification-read", "POST", REP),
    ("api-notifications", "GET", MK|MM|REP|REP2|SM|ADM|OUT),
    ("api-notifications-read-all", "POST", MK|MM|REP|REP2|SM|ADM|OUT),
    ("api-queue", "GET", REP|REP2|SM|ADM),
    ("api-queue-next", "POST", REP|REP2|SM|ADM),
    ("api-redoc", "GET", MK|MM|REP|REP2|SM|ADM|OUT),
    ("api-rescores-detail", "GET", MK|MM|REP|REP2|SM|ADM),
    ("api-rescores-list", "GET", MK|MM|REP|REP2|SM|ADM),
    ("api-rescores-list", "POST", MK|MM|ADM),
    ("api-schema", "GET", MK|MM|REP|REP2|SM|ADM|OUT),
    ("api-scoring-models-activate", "POST", MK|MM|ADM),
    ("api-scoring-models-backtest", "GET", MK|MM|REP|REP2|SM|ADM),
    ("api-scoring-models-detail", "GET", MK|MM|REP|REP2|SM|ADM),
    ("api-scoring-models-suggested-weights", "GET", MK | MM | REP | REP2 | SM | ADM),
    ("api-scoring-models-list", "GET", MK|MM|REP|REP2|SM|ADM),
    ("api-scoring-models-list", "POST", MK|MM|ADM),
    ("api-scoring-models-propose", "POST", MK|MM|ADM),
    ("api-scoring-models-sign-off", "POST", MM|SM),
    ("content-detail", "GET", MK|MM|REP|REP2|SM|ADM),
    ("content-list", "GET", MK|MM|REP|REP2|SM|ADM),
    ("content-list", "POST", MK|MM|REP|REP2|SM|ADM),
    ("goal-detail", "GET", MK|MM|SM|ADM),
    ("goal-list", "GET", MK|MM|SM|ADM),
    ("goal-list", "POST", MM|SM|ADM),
    ("goals:create", "GET", MM|SM|ADM),
    ("goals:create", "POST", MM|SM|ADM),
    ("goals:detail", "GET", MK|MM|SM|ADM),
    ("goals:detail", "POST", MK|MM|SM|ADM),
    ("goals:edit", "GET", MM|SM|ADM),
    ("goals:edit", "POST", MM|SM|ADM),
    ("goals:list", "GET", MK|MM|SM|ADM),
    ("goals:list", "POST", MK|MM|SM|ADM),
    ("goals:preview", "POST", MK|MM|SM|ADM),
    ("healthz", "GET", ANON|KEY|MK|MM|REP|REP2|SM|ADM|OUT),
    ("home", "GET", MK|MM|REP|REP2|SM|ADM|OUT),
    ("home", "POST", MK|MM|REP|REP2|SM|ADM|OUT),
    ("leads:change_stage", "POST", MK|MM|SM|ADM),
    ("leads:content_wins", "GET", MK | MM | REP | REP2 | SM | ADM),
    ("leads:detail", "GET", MK|MM|REP|REP2|SM|ADM),
    ("leads:detail", "POST", MK|MM|REP|REP2|SM|ADM),
    ("leads:erase", "GET", MM|SM|ADM),
    ("leads:erase", "POST", MM|SM|ADM),
    ("leads:export", "GET", MK|MM|SM|ADM),
    ("leads:export", "POST", MK|MM|SM|ADM),
    ("leads:import", "GET", MK|MM|ADM),
    ("leads:import", "POST", MK|MM|ADM),
    ("leads:import_cancel", "POST", MK|MM|ADM),
    ("leads:import_errors", "GET", MK|MM|ADM),
    ("leads:import_mapping", "GET", MK|MM|ADM),
    ("leads:import_mapping", "POST", MK|MM|ADM),
    ("leads:import_progress", "GET", MK|MM|ADM),
    ("leads:list", "GET", MK|MM|REP|REP2|SM|ADM),
    ("leads:list", "POST", MK|MM|REP|REP2|SM|ADM),
    ("leads:queue", "GET", REP|REP2|SM|ADM),
    ("leads:queue", "POST", REP|REP2|SM|ADM),
    ("leads:queue_accept", "POST", REP2),
    ("leads:queue_claim", "POST", REP|REP2|SM|ADM),
    ("leads:queue_claim_next", "POST", REP|REP2|SM|ADM),
    ("leads:queue_disqualify", "POST", REP2),
    ("leads:queue_qualify", "POST", REP2),
    ("leads:queue_reject", "POST", REP|REP2|SM|ADM),
    ("leads:queue_touch", "POST", REP|REP2|SM|ADM),
    ("leads:rejections", "GET", MK|MM|SM|ADM),
    ("leads:rejections", "POST", MK|MM|SM|ADM),
    ("leads:routing", "GET", SM|ADM),
    ("leads:routing", "POST", SM|ADM),
    ("leads:routing_ledger", "GET", SM|ADM),
    ("leads:routing_ledger", "POST", SM|ADM),
    ("leads:routing_member_add", "GET", SM|ADM),
    ("leads:routing_member_add", "POST", SM|ADM),
    ("leads:routing_member_edit", "GET", SM|ADM),
    ("leads:routing_member_edit", "POST", SM|ADM),
    ("leads:routing_member_remove", "POST", SM|ADM),
    ("leads:routing_preview", "GET", SM|ADM),
    ("leads:routing_preview", "POST", SM|ADM),
    ("leads:routing_rule_edit", "GET", SM|ADM),
    ("leads:routing_rule_edit", "POST", SM|ADM),
    ("leads:routing_rule_move", "POST", SM|ADM),
    ("leads:routing_rule_new", "GET", SM|ADM),
    ("leads:routing_rule_new", "POST", SM|ADM),
    ("leads:routing_rule_toggle", "POST", SM|ADM),
    ("leads:routing_team", "GET", SM|ADM),
    ("leads:routing_team", "POST", SM|ADM),
    ("leads:routing_team_new", "GET", SM|ADM),
    ("leads:routing_team_new", "POST", SM|ADM),
    ("leads:scoring", "GET", MK|MM|REP|REP2|SM|ADM),
    ("leads:scoring", "POST", MK|MM|REP|REP2|SM|ADM),
    ("leads:scoring_action", "POST", MK|MM|ADM),
    ("leads:scoring_backtest", "GET", MK|MM|REP|REP2|SM|ADM),
    ("leads:scoring_backtest", "POST", MK|MM|REP|REP2|SM|ADM),
    ("leads:scoring_detail", "GET", MK|MM|REP|REP2|SM|ADM),
    ("leads:scoring_detail", "POST", MK|MM|REP|REP2|SM|ADM),
    ("leads:scoring_new", "POST", MK|MM|ADM),
    ("leads:scoring_preview", "GET", MK|MM|REP|REP2|SM|ADM),
    ("leads:scoring_preview", "POST", MK|MM|REP|REP2|SM|ADM),
    ("leads:scoring_rescore", "GET", MK|MM|REP|REP2|SM|ADM),
    ("leads:scoring_rescore", "POST", MK|MM|REP|REP2|SM|ADM),
    ("leads:scoring_rescore_start", "POST", MK|MM|ADM),
    ("leads:scoring_rule_add", "POST", MK|MM|ADM),
    ("leads:scoring_rule_delete", "POST", MK|MM|ADM),
    ("leads:scoring_rule_edit", "GET", MK|MM|ADM),
    ("leads:scoring_rule_edit", "POST", MK|MM|ADM),
    ("leads:scoring_settings", "POST", MK|MM|ADM),
    ("login", "GET", ANON|KEY|MK|MM|REP|REP2|SM|ADM|OUT),
    ("login", "POST", ANON|KEY|MK|MM|REP|REP2|SM|ADM|OUT),
    ("logout", "POST", EVERYONE),
    ("notifications:badge", "GET", MK|MM|REP|REP2|SM|ADM|OUT),
    ("notifications:inbox", "GET", MK|MM|REP|REP2|SM|ADM|OUT),
    ("notifications:open", "GET", REP),
    ("notifications:preferences", "GET", MK|MM|REP|REP2|SM|ADM|OUT),
    ("notifications:preferences", "POST", MK|MM|REP|REP2|SM|ADM|OUT),
    ("notifications:read", "POST", REP),
    ("notifications:read_all", "POST", MK|MM|REP|REP2|SM|ADM|OUT),
    ("notifications:webhook_detail", "GET", SM|ADM),
    ("notifications:webhook_detail", "POST", SM|ADM),
    ("notifications:webhook_ping", "POST", SM|ADM),
    ("notifications:webhook_rotate_secret", "POST", SM|ADM),
    ("notifications:webhook_set_active", "POST", SM|ADM),
    ("notifications:webhooks", "GET", SM|ADM),
    ("notifications:webhooks", "POST", SM|ADM),
    ("persona-detail", "GET", MK|MM|REP|REP2|SM|ADM),
    ("persona-fit", "POST", MK|MM|REP|REP2|SM|ADM),
    ("persona-list", "GET", MK|MM|REP|REP2|SM|ADM),
    ("persona-list", "POST", MK|MM|ADM),
    ("persona-sign-off", "POST", MM|SM|ADM),
    ("persona-versions", "GET", MK|MM|REP|REP2|SM|ADM),
    ("personas:content", "GET", MK|MM|REP|REP2|SM|ADM),
    ("personas:content", "POST", MK|MM|REP|REP2|SM|ADM),
    ("personas:content_create", "GET", MK|MM|REP|REP2|SM|ADM),
    ("personas:content_create", "POST", MK|MM|REP|REP2|SM|ADM),
    ("personas:content_edit", "GET", MK|MM|SM|ADM),
    ("personas:content_edit", "POST", MK|MM|SM|ADM),
    ("personas:create", "GET", MK|MM|ADM),
    ("personas:create", "POST", MK|MM|ADM),
    ("personas:detail", "GET", MK|MM|REP|REP2|SM|ADM),
    ("personas:detail", "POST", MK|MM|REP|REP2|SM|ADM),
    ("personas:edit", "GET", MK|MM|ADM),
    ("personas:edit", "POST", MK|MM|ADM),
    ("personas:history", "GET", MK|MM|REP|REP2|SM|ADM),
    ("personas:history", "POST", MK|MM|REP|REP2|SM|ADM),
    ("personas:list", "GET", MK|MM|REP|REP2|SM|ADM),
    ("personas:list", "POST", MK|MM|REP|REP2|SM|ADM),
    ("personas:matches", "GET", MK|MM|REP|REP2|SM|ADM),
    ("personas:matches", "POST", MK|MM|REP|REP2|SM|ADM),
    ("personas:question_create", "GET", MK|MM|REP|REP2|SM|ADM),
    ("personas:question_create", "POST", MK|MM|REP|REP2|SM|ADM),
    ("personas:question_dismiss", "POST", MK|MM|SM|ADM),
    ("personas:questions", "GET", MK|MM|REP|REP2|SM|ADM),
    ("personas:questions", "POST", MK|MM|REP|REP2|SM|ADM),
    ("personas:sign_off", "POST", MM|SM|ADM),
    ("personas:worksheet", "GET", MK|MM|REP|REP2|SM|ADM),
    ("personas:worksheet", "POST", MK|MM|REP|REP2|SM|ADM),
    ("prospect-question-detail", "GET", MK|MM|REP|REP2|SM|ADM),
    ("prospect-question-list", "GET", MK|MM|REP|REP2|SM|ADM),
    ("prospect-question-list", "POST", MK|MM|REP|REP2|SM|ADM),
    ("sla-agreement-detail", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla-agreement-diff", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla-agreement-list", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla-agreement-list", "POST", MM|SM|ADM),
    ("sla-agreement-new-version", "POST", MM|SM|ADM),
    ("sla-agreement-propose", "POST", MM|SM|ADM),
    ("sla-agreement-sign", "POST", MM|SM),
    ("sla-calendar-detail", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla-calendar-due", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla-calendar-list", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla-calendar-list", "POST", SM|ADM),
    ("sla-compliance", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla:agreement_create", "GET", MM|SM|ADM),
    ("sla:agreement_create", "POST", MM|SM|ADM),
    ("sla:agreement_detail", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla:agreement_detail", "POST", MK|MM|REP|REP2|SM|ADM),
    ("sla:agreement_diff", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla:agreement_diff", "POST", MK|MM|REP|REP2|SM|ADM),
    ("sla:agreement_discard", "POST", MM|SM|ADM),
    ("sla:agreement_edit", "GET", MM|SM|ADM),
    ("sla:agreement_edit", "POST", MM|SM|ADM),
    ("sla:agreement_list", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla:agreement_list", "POST", MK|MM|REP|REP2|SM|ADM),
    ("sla:agreement_new_version", "POST", MM|SM|ADM),
    ("sla:agreement_propose", "POST", MM|SM|ADM),
    ("sla:agreement_sign", "POST", MM|SM),
    ("sla:calendar_create", "GET", SM|ADM),
    ("sla:calendar_create", "POST", SM|ADM),
    ("sla:calendar_detail", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla:calendar_detail", "POST", MK|MM|REP|REP2|SM|ADM),
    ("sla:calendar_due", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla:calendar_due", "POST", MK|MM|REP|REP2|SM|ADM),
    ("sla:calendar_edit", "GET", SM|ADM),
    ("sla:calendar_edit", "POST", SM|ADM),
    ("sla:calendar_list", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla:calendar_list", "POST", MK|MM|REP|REP2|SM|ADM),
    ("sla:compliance", "GET", MM|SM|ADM),
    ("sla:compliance", "POST", MM|SM|ADM),
    ("sla:compliance_marketing", "GET", MK|MM|SM|ADM),
    ("sla:compliance_marketing", "POST", MK|MM|SM|ADM),
    ("sla:compliance_sales", "GET", MM|REP|REP2|SM|ADM),
    ("sla:compliance_sales", "POST", MM|REP|REP2|SM|ADM),
    ("sla:dashboard", "GET", MK|MM|REP|REP2|SM|ADM),
    ("sla:dashboard", "POST", MK|MM|REP|REP2|SM|ADM),
    ("sla:review", "GET", MM|SM|ADM),
    ("sla:review", "POST", MM|SM|ADM),
    ("admin:index", "GET", ADM),
]
# fmt: on

# Which object of the world a URL's kwargs point at, where the name alone does not say.
OBJECT_OF = {
    "personas:content_edit": "content",
    "personas:question_dismiss": "question",
    "content-detail": "content",
    "prospect-question-detail": "question",
    "leads:scoring_rule_delete": "scoring_rule",
    "leads:scoring_rule_edit": "scoring_rule",
    "leads:scoring_action": "model_action",
    "leads:scoring_rescore": "rescore",
    "api-rescores-detail": "rescore_api",
    "leads:routing_member_edit": "member",
    "leads:routing_member_remove": "member",
    "leads:routing_rule_move": "rule_move",
    "api-form-capture": "form_site",
}
PREFIXES = [
    (("personas:", "persona-"), "persona"),
    (("goals:", "goal-"), "goal"),
    (("sla-calendar", "sla:calendar"), "calendar"),
    (("sla",), "agreement"),
    (("leads:queue",), "handoff"),
    (("leads:import",), "import_job"),
    (("leads:scoring", "api-scoring"), "model"),
    (("leads:routing_team", "leads:routing_member"), "team"),
    (("leads:routing_rule",), "rule"),
    (("notifications:webhook",), "endpoint"),
    (("notifications:", "api-notification"), "notification"),
]


# Someone else's notification is not found rather than forbidden.
HIDDEN = {"notifications:open", "notifications:read", "api-notification-read"}
# Allowed, but the fixture's object gives nothing to show: a first version has no diff.
NOT_APPLICABLE = {"sla-agreement-diff": "404"}
# Pages for people under /api/: they send anonymous visitors to the login page.
API_PAGES = {"api-docs", "api-redoc"}


def named_urls() -> dict[str, str]:
    """Every named URL (admin's own pages aside) and its route."""
    found: dict[str, str] = {}

    def walk(patterns, prefix, namespace):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                ns = ":".join(filter(None, [namespace, p.namespace]))
                walk(p.url_patterns, prefix + str(p.pattern), ns or None)
            elif p.name:
                name = f"{namespace}:{p.name}" if namespace else p.name
                found.setdefault(name, prefix + str(p.pattern))

    walk(get_resolver().url_patterns, "", None)
    return {n: r for n, r in found.items() if not n.startswith("admin:")}


def url_for(name: str, world) -> str:
    if name == "admin:index":
        return reverse(name)
    route = named_urls().get(name, "")
    if name in OBJECT_OF:
        return reverse(name, kwargs=world.kwargs()[OBJECT_OF[name]])
    if "pk>" not in route:
        return reverse(name)
    obj = next((o for prefixes, o in PREFIXES if name.startswith(prefixes)), "lead")
    return reverse(name, kwargs=world.kwargs()[obj])


def client_as(who: str, actors, raw_key: str, *, api: bool):
    if who == "key":
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
        return client
    client = APIClient() if api else Client()
    if who != "anon":
        client.force_login(actors[USERS[who]])
    return client


def call(client, method: str, url: str, *, api: bool):
    # The form endpoint is public but origin-checked; a listed origin gets past it.
    extra = {"HTTP_ORIGIN": "https://www.example.com"}
    if api and method == "POST":
        extra["format"] = "json"
    # Each call runs in a savepoint that is rolled back, so an allowed erase or sign-off
    # does not change what the next principal sees.
    sid = transaction.savepoint_create()
    try:
        return getattr(client, method.lower())(url, **extra)
    finally:
        transaction.savepoint_rollback(sid)


def outcome(response, *, api: bool) -> str:
    status = response.status_code
    if status == 302 and response["Location"].startswith(("/accounts/login/", "/admin/login/")):
        return "login"
    if status >= 500 and status != 503:
        return f"error {status}"
    if status in (401, 403, 404):
        return str(status)
    return "allowed"


def test_every_named_url_has_a_row():
    in_table = {row[0] for row in MATRIX}
    missing = sorted(set(named_urls()) - in_table)
    assert not missing, f"add these to MATRIX: {missing}"
    stale = sorted(in_table - set(named_urls()) - {"admin:index"})
    assert not stale, f"rows for URLs that no longer exist: {stale}"


def test_the_table_names_every_principal_somewhere():
    everyone_named = reduce(Who.__or__, (row[2] for row in MATRIX))
    assert everyone_named == EVERYONE


@pytest.mark.parametrize(("name", "method", "allowed"), MATRIX, ids=lambda v: str(v)[:40])
def test_access_matches_the_table(name, method, allowed, actors, world):
    _, raw_key = IngestKey.issue(name="website", now=NOW)
    url = url_for(name, world)
    api = url.startswith("/api/") and name not in API_PAGES
    wrong = []
    for who in sorted(EVERYONE):
        got = outcome(call(client_as(who, actors, raw_key, api=api), method, url, api=api), api=api)
        if who in allowed:
            expected = {"allowed"}
            if name in NOT_APPLICABLE:
                expected = {NOT_APPLICABLE[name]}
            if name == "logout":
                expected = {"login"}  # signing out lands on the login page
        elif (who in ("anon", "key") and not api) or name == "admin:index":
            expected = {"login"}
        elif who in ("anon", "key"):
            expected = {"401", "403"}
        else:
            expected = {"404"} if name in HIDDEN else {"403"}
        if got not in expected:
            wrong.append(f"{who}: {got} (expected {' or '.join(sorted(expected))})")
    assert not wrong, f"{method} {url}: " + "; ".join(wrong)


# --- Object level: a rep cannot act on another rep's lead, whatever the input.

VALID_INPUT = {
    "claim": {},
    "accept": {},
    "reject": {"reason": "not_icp", "note": "not ours"},
    "touches": {"kind": "call", "outcome": "connected", "note": "called"},
    "qualify": {"note": "budget confirmed"},
    "disqualify": {"note": "gone"},
}


def _handoff_state(handoff) -> tuple:
    from leads.handoff.models import Touch

    handoff.refresh_from_db()
    handoff.lead.refresh_from_db()
    return (
        handoff.status,
        handoff.owner_id,
        handoff.lead.stage_id,
        handoff.lead.owner_id,
        Touch.objects.filter(handoff=handoff).count(),
    )


@pytest.mark.parametrize("action", list(VALID_INPUT))
def test_a_rep_cannot_act_on_another_reps_lead_through_the_api(action, actors, world):
    before = _handoff_state(world.handoff)
    api = APIClient()
    api.force_authenticate(actors["rep"])

    response = api.post(
        f"/api/v1/leads/{world.lead.pk}/{action}/", VALID_INPUT[action], format="json"
    )

    # Claiming an owned lead is a lost race (409); every other action is someone else's.
    assert response.status_code == (409 if action == "claim" else 403), response.content
    assert _handoff_state(world.handoff) == before


@pytest.mark.parametrize("action", ["claim", "accept", "reject", "touch", "qualify", "disqualify"])
def test_a_rep_cannot_act_on_another_reps_lead_in_the_queue_pages(action, actors, world, client):
    before = _handoff_state(world.handoff)
    client.force_login(actors["rep"])
    data = VALID_INPUT["touches" if action == "touch" else action]

    response = client.post(reverse(f"leads:queue_{action}", args=[world.handoff.pk]), data)

    assert response.status_code in (302, 403)
    assert _handoff_state(world.handoff) == before
    if response.status_code == 302:
        page = client.get(response["Location"])
        shown = [str(m) for m in page.context["messages"]]
        assert any("Lee" in m or "belongs" in m or "already" in m.lower() for m in shown), shown


def test_the_owner_can_do_what_the_other_rep_cannot(actors, world):
    api = APIClient()
    api.force_authenticate(actors["rep2"])

    response = api.post(f"/api/v1/leads/{world.lead.pk}/touches/", VALID_INPUT["touches"])

    assert response.status_code == 201, response.content
    assert _handoff_state(world.handoff)[4] == 1


def test_a_user_cannot_read_or_open_someone_elses_notification(actors, world, client):
    client.force_login(actors["rep2"])

    assert (
        client.get(reverse("notifications:open", args=[world.notification.pk])).status_code == 404
    )
    assert (
        client.post(reverse("notifications:read", args=[world.notification.pk])).status_code == 404
    )
    world.notification.refresh_from_db()
    assert world.notification.read_at is None
