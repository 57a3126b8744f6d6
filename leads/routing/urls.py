# Included by leads/urls.py under /leads/routing/ (names join the "leads:" namespace).
from django.urls import path

from leads.routing import views

urlpatterns = [
    path("", views.routing_home, name="routing"),
    path("ledger/", views.routing_ledger, name="routing_ledger"),
    path("preview/", views.routing_preview, name="routing_preview"),
    path("rules/new/", views.rule_new, name="routing_rule_new"),
    path("rules/<int:pk>/", views.rule_edit, name="routing_rule_edit"),
    path("rules/<int:pk>/toggle/", views.rule_toggle, name="routing_rule_toggle"),
    path("rules/<int:pk>/move/<str:direction>/", views.rule_move, name="routing_rule_move"),
    path("teams/new/", views.team_new, name="routing_team_new"),
    path("teams/<int:pk>/", views.team_detail, name="routing_team"),
    path("teams/<int:pk>/members/new/", views.member_add, name="routing_member_add"),
    path(
        "teams/<int:pk>/members/<int:member_pk>/",
        views.member_edit,
        name="routing_member_edit",
    ),
    path(
        "teams/<int:pk>/members/<int:member_pk>/remove/",
        views.member_remove,
        name="routing_member_remove",
    ),
]
