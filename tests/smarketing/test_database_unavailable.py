"""A database outage answers 503 with Retry-After, never a bare 500, whichever layer hits it."""

import pytest
from django.db import OperationalError
from django.test import Client, override_settings
from django.urls import path

from smarketing.urls import urlpatterns as real_urlpatterns


def _down(request):
    raise OperationalError("could not connect to server: Connection refused")


def _bug(request):
    raise ValueError("a plain bug")


urlpatterns = [path("api/v1/down/", _down), path("down/", _down), path("bug/", _bug)]
urlpatterns += real_urlpatterns
handler500 = "smarketing.views.server_error"


@pytest.fixture
def client_no_raise(db, admin_user):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    return client


@override_settings(ROOT_URLCONF=__name__)
def test_api_answers_503_with_retry_after(client_no_raise):
    response = client_no_raise.get("/api/v1/down/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "retry" in response.json()["detail"]


@override_settings(ROOT_URLCONF=__name__)
def test_pages_answer_503_with_a_page(client_no_raise):
    response = client_no_raise.get("/down/")
    assert response.status_code == 503
    assert b"Back in a moment" in response.content


@override_settings(ROOT_URLCONF=__name__)
def test_a_plain_bug_is_still_a_500(client_no_raise):
    assert client_no_raise.get("/bug/").status_code == 500


def test_an_outage_in_the_session_layer_is_a_503(client_no_raise, monkeypatch):
    from django.contrib.sessions.backends.db import SessionStore

    def refuse(self, *args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(SessionStore, "load", refuse)
    response = client_no_raise.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
