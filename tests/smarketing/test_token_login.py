"""`Authorization: Token <key>` through smarketing.authentication.TokenAuthentication: the
same answers and messages as DRF's class, from one hand-written query, and nothing
remembered between requests (a deleted token or a deactivated user fails at once)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from smarketing.authentication import token_with_user
from tests.leads.queue_fixtures import make_handoff

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/queue/next/"


def _client(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def test_a_rep_claims_with_a_token(rep):
    token = Token.objects.create(user=rep)
    handoff = make_handoff()
    response = _client(token.key).post(NEXT)
    assert response.status_code == 200, response.json()
    assert (response.json()["id"], response.json()["owner"]) == (handoff.pk, "dana")


def test_an_unknown_token_is_refused(rep):
    response = _client("0" * 40).post(NEXT)
    # 403, not 401: session login comes first in the list, and DRF challenges (401) only
    # for the first class; the same answer as with DRF's own token class.
    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid token."}


def test_a_deleted_token_stops_working_on_the_next_request(rep):
    token = Token.objects.create(user=rep)
    make_handoff()
    api = _client(token.key)
    assert api.get("/api/v1/queue/").status_code == 200
    token.delete()
    response = api.get("/api/v1/queue/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid token."}


def test_a_deactivated_user_stops_working_on_the_next_request(rep):
    token = Token.objects.create(user=rep)
    api = _client(token.key)
    assert api.get("/api/v1/queue/").status_code == 200
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    response = api.get("/api/v1/queue/")
    assert response.status_code == 403
    assert response.json() == {"detail": "User inactive or deleted."}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Token", "Invalid token header. No credentials provided."),
        ("Token a b", "Invalid token header. Token string should not contain spaces."),
    ],
)
def test_a_malformed_header_keeps_drfs_message(rep, header, message):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.post(NEXT)
    assert (response.status_code, response.json()) == (403, {"detail": message})


def test_a_token_without_the_queue_role_is_forbidden(marketer):
    token = Token.objects.create(user=marketer)
    response = _client(token.key).post(NEXT)
    assert response.status_code == 403


def test_the_lookup_reads_what_the_orm_reads_in_one_query(rep):
    token = Token.objects.create(user=rep)
    expected = Token.objects.select_related("user").get(key=token.key)
    with CaptureQueriesContext(connection) as queries:
        found = token_with_user(token.key)
    assert len(queries) == 1
    assert (found.key, found.user_id, found.created) == (
        expected.key,
        expected.user_id,
        expected.created,
    )
    for field in type(rep)._meta.concrete_fields:
        assert getattr(found.user, field.attname) == getattr(expected.user, field.attname)
    assert type(found.user.is_active) is bool
    assert found.user.date_joined.tzinfo is not None
    assert token_with_user("nope") is None
