import re

from django.urls import reverse

from tests.conftest import foreign_assets


def test_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_login_page_renders_with_csrf_and_labels(client, db):
    response = client.get(reverse("login"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "csrfmiddlewaretoken" in body
    assert re.search(r'<label\s+for="id_username"', body)
    assert re.search(r'<label\s+for="id_password"', body)


def test_user_logs_in_with_password_and_lands_on_dashboard(client, marketer):
    response = client.post(
        reverse("login"), {"username": "mia", "password": "pw-for-tests-1234"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Welcome, Mia" in response.content.decode()


def test_wrong_password_shows_form_error(client, marketer):
    response = client.post(reverse("login"), {"username": "mia", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_logout_needs_post_and_ends_session(client_for, marketer):
    client = client_for(marketer)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_csrf_is_enforced_on_login(marketer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "mia", "password": "pw-for-tests-1234"})
    assert response.status_code == 403


def test_api_without_credentials_answers_401_or_403_not_a_redirect(client, db):
    response = client.get("/api/schema/")
    assert response.status_code in (401, 403)


def test_api_docs_page_needs_a_login(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_api_docs_render_for_a_signed_in_user_without_a_cdn(client_for, marketer):
    body = client_for(marketer).get("/api/docs/").content.decode()
    assert "swagger-ui" in body
    assert foreign_assets(body) == []


def test_pages_carry_a_content_security_policy(client, db):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
