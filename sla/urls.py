from django.urls import path

from smarketing.views import placeholder

app_name = "sla"
urlpatterns = [
    path("", placeholder, {"title": "SLA", "issue": "The two-sided SLA"}, name="dashboard"),
]
