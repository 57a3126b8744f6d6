"""POST /api/v1/forms/<site_key>/: public website forms with origin checks, a honeypot and
a per-IP rate limit."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from leads.models import Activity, Lead
from tests.leads.factories import FormSiteFactory

pytestmark = pytest.mark.django_db
ORIGIN = "https://www.example.com"


@pytest.fixture(autouse=True)
def _private_cache(settings):
    """Rate-limit counters in a cache of our own: the shared one may hold counts from
    other runs, and clearing it would disturb them."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "form-capture-tests",
        }
    }
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def site():
    return FormSiteFactory(rate_limit_per_minute=3)


def post(site, data, *, origin=ORIGIN, fmt="json", ip="203.0.113.5"):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return APIClient().post(
        f"/api/v1/forms/{site.site_key}/", data, format=fmt, REMOTE_ADDR=ip, **headers
    )


def test_a_form_post_creates_the_lead_and_a_form_submit_activity(site):
    response = post(
        site,
        {
            "email": "Ann@Acme.test",
            "first_name": "Ann",
            "company": "Acme",
            "message": "Call me about pricing",
            "page_url": "https://www.example.com/demo",
        },
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True}
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    lead = Lead.objects.get()
    assert (lead.email, lead.company, lead.source) == ("ann@acme.test", "Acme", "website form")
    activity = Activity.objects.get()
    assert activity.type == "form_submit"
    assert activity.properties["message"] == "Call me about pricing"
    assert activity.properties["url"] == "https://www.example.com/demo"


def test_a_plain_html_form_post_is_accepted_and_redirected_when_the_site_says_so(site):
    site.redirect_url = "https://www.example.com/thanks"
    site.save()
    response = post(site, {"email": "bob@beta.test", "newsletter": "on"}, fmt="multipart")
    assert response.status_code == 303
    assert response["Location"] == "https://www.example.com/thanks"
    assert Lead.objects.filter(email="bob@beta.test").exists()


def test_urlencoded_posts_are_understood(site):
    response = APIClient().post(
        f"/api/v1/forms/{site.site_key}/",
        "email=carl%40gamma.test&first_name=Carl",
        content_type="application/x-www-form-urlencoded",
        HTTP_ORIGIN=ORIGIN,
    )
    assert response.status_code == 200
    assert Lead.objects.get().first_name == "Carl"


def test_a_filled_honeypot_looks_like_success_but_stores_nothing(site):
    response = post(site, {"email": "bot@spam.test", "contact_me_by_fax": "yes please"})
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert Lead.objects.count() == 0
    assert Activity.objects.count() == 0


def test_a_post_from_another_origin_is_refused(site):
    response = post(site, {"email": "eve@evil.test"}, origin="https://evil.test")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert Lead.objects.count() == 0


def test_a_post_without_origin_is_refused_when_origins_are_configured(site):
    assert post(site, {"email": "x@y.test"}, origin="").status_code == 403


def test_the_preflight_request_names_the_allowed_origin(site):
    response = APIClient().options(f"/api/v1/forms/{site.site_key}/", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_the_rate_limit_answers_429_per_address(site):
    codes = [post(site, {"email": f"p{i}@acme.test"}).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    # Another visitor is not punished for the first one.
    assert post(site, {"email": "other@acme.test"}, ip="198.51.100.7").status_code == 200
    assert Lead.objects.count() == 4


def test_a_form_without_email_answers_400_with_the_field(site):
    response = post(site, {"first_name": "Ann"})
    assert response.status_code == 400
    assert response.json()["errors"]["email"]


def test_a_bad_email_answers_400_with_the_field(site):
    response = post(site, {"email": "nope"})
    assert response.status_code == 400
    assert "email" in response.json()["errors"]


def test_an_unknown_or_inactive_site_key_is_a_404(site):
    assert APIClient().post("/api/v1/forms/nope/", {"email": "a@b.test"}).status_code == 404
    site.is_active = False
    site.save()
    assert post(site, {"email": "a@b.test"}).status_code == 404


def test_a_form_cannot_name_a_lead_by_external_id(site):
    post(site, {"email": "ann@acme.test", "external_id": "crm-1"})
    assert Lead.objects.get().external_id == ""


def test_an_oversized_form_post_is_a_413(site):
    response = post(site, {"email": "a@b.test", "message": "x" * 70_000})
    assert response.status_code == 413


def test_the_form_endpoint_needs_no_login_and_no_csrf_token(site):
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(
        f"/api/v1/forms/{site.site_key}/", {"email": "a@b.test"}, HTTP_ORIGIN=ORIGIN
    )
    assert response.status_code == 200


def test_a_form_can_set_do_not_email_but_never_clear_it(site):
    post(site, {"email": "ann@acme.test", "do_not_email": "true"})
    assert Lead.objects.get().do_not_email is True
    post(site, {"email": "ann@acme.test", "do_not_email": "false", "first_name": "Ann"})
    lead = Lead.objects.get()
    assert lead.do_not_email is True and lead.first_name == "Ann"
