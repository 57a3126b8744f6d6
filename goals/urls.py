from django.urls import path

from smarketing.views import placeholder

app_name = "goals"
urlpatterns = [
    path("", placeholder, {"title": "Funnel goals", "issue": "Funnel goals"}, name="list"),
]
