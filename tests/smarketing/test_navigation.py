import pytest
from django.urls import reverse

from tests.conftest import foreign_assets

NAV = [
    "Dashboard",
    "Personas",
    "Content",
    "Leads",
    "Scoring",
    "Queue",
    "Routing",
    "Rejections",
    "SLA",
    "Goals",
]
MARKETING_NAV = {
    "Dashboard",
    "Personas",
    "Content",
    "Leads",
    "Scoring",
    "Rejections",
    "SLA",
    "Goals",
}


def _nav_labels(response) -> list[str]:
    return [item["label"] for item in response.context["nav_items"]]


@pytest.mark.parametrize(
    ("actor", "visible"),
    [
        ("marketer", MARKETING_NAV),
        ("marketing_manager", MARKETING_NAV),
        ("rep", {"Dashboard", "Personas", "Content", "Scoring", "Queue", "SLA"}),
        ("sales_manager", set(NAV)),
        ("admin_user", set(NAV)),
        ("outsider", {"Dashboard"}),
    ],
)
def test_each_role_sees_its_pages(request, client_for, actor, visible):
    client = client_for(request.getfixturevalue(actor))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert set(_nav_labels(response)) == visible


def test_rep_is_refused_marketing_only_pages(client_for, rep):
    client = client_for(rep)
    assert client.get(reverse("goals:list")).status_code == 403
    assert client.get(reverse("leads:queue")).status_code == 200


def test_outsider_sees_no_role_notice_and_is_refused_everywhere(client_for, outsider):
    client = client_for(outsider)
    assert "has no role yet" in client.get(reverse("home")).content.decode()
    for name in ["personas:list", "leads:list", "leads:queue", "sla:dashboard", "goals:list"]:
        assert client.get(reverse(name)).status_code == 403, name


def test_admin_link_only_for_staff(client_for, admin_user, marketer):
    assert reverse("admin:index") in client_for(admin_user).get(reverse("home")).content.decode()
    assert reverse("admin:index") not in client_for(marketer).get(reverse("home")).content.decode()


def test_pages_load_assets_from_our_own_static(client_for, marketer):
    body = client_for(marketer).get(reverse("home")).content.decode()
    assert "/static/bootstrap/css/bootstrap.min.css" in body
    assert "/static/django_htmx/htmx" in body
    assert foreign_assets(body) == []


def test_static_assets_are_found(client, db):
    from django.contrib.staticfiles import finders

    for asset in [
        "bootstrap/css/bootstrap.min.css",
        "bootstrap/js/bootstrap.bundle.min.js",
        "chartkick/chartkick.js",
        "chartkick/Chart.bundle.js",
        "css/smarketing.css",
    ]:
        assert finders.find(asset), asset


def test_only_the_most_specific_page_is_marked_current(client_for, marketer):
    response = client_for(marketer).get(reverse("leads:scoring"))
    active = [item["label"] for item in response.context["nav_items"] if item["active"]]
    assert active == ["Scoring"]


def test_the_offline_check_catches_any_foreign_asset_and_ignores_tokens():
    page = (
        '<script src="https://cdn.jsdelivr.net/npm/x.js"></script>'
        '<link rel="stylesheet" href="//unpkg.com/a.css">'
        "<style>@import url(https://fonts.googleapis.com/css)</style>"
        '<script src="/static/a.js"></script>'
        '<a href="https://github.com/smarketing">source</a>'
        '<input name="csrfmiddlewaretoken" value="r8qqnvjk9ncdn51dux">'
    )
    assert foreign_assets(page) == [
        "https://cdn.jsdelivr.net/npm/x.js",
        "//unpkg.com/a.css",
        "https://fonts.googleapis.com/css",
    ]
