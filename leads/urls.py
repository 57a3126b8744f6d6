from django.urls import path

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
    path("queue/", placeholder, {"title": "Sales queue", "issue": "The handoff"}, name="queue"),
]
