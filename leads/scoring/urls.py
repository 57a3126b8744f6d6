# Included by leads/urls.py under /leads/scoring/ (names join the "leads:" namespace).
from django.urls import path

from leads.scoring import views

urlpatterns = [
    path("", views.scoring_list, name="scoring"),
    path("new/", views.scoring_new_draft, name="scoring_new"),
    path("rescore/", views.scoring_rescore_start, name="scoring_rescore_start"),
    path("rescores/<int:job_pk>/", views.scoring_rescore, name="scoring_rescore"),
    path("<int:pk>/", views.scoring_detail, name="scoring_detail"),
    path("<int:pk>/settings/", views.scoring_settings, name="scoring_settings"),
    path("<int:pk>/rules/", views.scoring_rule_add, name="scoring_rule_add"),
    path("<int:pk>/rules/<int:rule_pk>/", views.scoring_rule_edit, name="scoring_rule_edit"),
    path(
        "<int:pk>/rules/<int:rule_pk>/delete/",
        views.scoring_rule_delete,
        name="scoring_rule_delete",
    ),
    path("<int:pk>/preview/", views.scoring_preview, name="scoring_preview"),
    path("<int:pk>/backtest/", views.scoring_backtest, name="scoring_backtest"),
    path(
        "<int:pk>/<str:action>/",
        views.scoring_action,
        name="scoring_action",
    ),
]
