from django.urls import path

from smarketing.views import placeholder

app_name = "personas"
urlpatterns = [
    path("", placeholder, {"title": "Personas", "issue": "Personas defined together"}, name="list"),
    path(
        "content/",
        placeholder,
        {"title": "Content matrix", "issue": "Personas defined together"},
        name="content",
    ),
]
