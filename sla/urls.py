from django.urls import include, path

from sla import views

app_name = "sla"
urlpatterns = [
    # The nav links to "sla:dashboard": the landing page with the agreement in force.
    path("", views.home, name="dashboard"),
    path("agreements/", views.agreement_list, name="agreement_list"),
    path("agreements/new/", views.agreement_create, name="agreement_create"),
    path("agreements/<int:pk>/", views.agreement_detail, name="agreement_detail"),
    path("agreements/<int:pk>/edit/", views.agreement_edit, name="agreement_edit"),
    path("agreements/<int:pk>/propose/", views.agreement_propose, name="agreement_propose"),
    path("agreements/<int:pk>/sign/", views.agreement_sign, name="agreement_sign"),
    path("agreements/<int:pk>/discard/", views.agreement_discard, name="agreement_discard"),
    path(
        "agreements/<int:pk>/new-version/",
        views.agreement_new_version,
        name="agreement_new_version",
    ),
    path("agreements/<int:pk>/diff/", views.agreement_diff, name="agreement_diff"),
    path("calendars/", views.calendar_list, name="calendar_list"),
    path("calendars/new/", views.calendar_create, name="calendar_create"),
    path("calendars/<int:pk>/", views.calendar_detail, name="calendar_detail"),
    path("calendars/<int:pk>/edit/", views.calendar_edit, name="calendar_edit"),
    path("calendars/<int:pk>/due/", views.calendar_due, name="calendar_due"),
    # The compliance dashboards (sla/dashboard_urls.py) are included here under compliance/.
    path("compliance/", include("sla.dashboard_urls")),
]
