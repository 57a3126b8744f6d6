from django.urls import include, path

from smarketing.views import placeholder

app_name = "leads"
urlpatterns = [
    path("", placeholder, {"title": "Leads", "issue": "Leads, lifecycle and intake"}, name="list"),
    path(
        "scoring/",
        placeholder,
        {"title": "Scoring models", "issue": "What counts as a lead"},
        name="scoring",
    ),
    path("import/", include("leads.import_urls")),
    path("queue/", placeholder, {"title": "Sales queue", "issue": "The handoff"}, name="queue"),
]
