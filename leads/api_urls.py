from django.urls import path
from rest_framework.routers import SimpleRouter

from leads import api
from leads.handoff import api as queue_api
from leads.scoring import api as scoring_api

router = SimpleRouter()
router.register("scoring-models", scoring_api.ScoringModelViewSet, basename="api-scoring-models")
router.register("rescores", scoring_api.RescoreJobViewSet, basename="api-rescores")

urlpatterns = [
    path("events/", api.EventsView.as_view(), name="api-events"),
    path("queue/next/", queue_api.QueueNextView.as_view(), name="api-queue-next"),
    path("leads/", api.LeadListCreateView.as_view(), name="api-leads"),
    path("leads/<int:pk>/", api.LeadDetailView.as_view(), name="api-lead-detail"),
    path("leads/<int:pk>/stage/", api.LeadStageView.as_view(), name="api-lead-stage"),
    path("leads/<int:pk>/export/", api.LeadExportView.as_view(), name="api-lead-export"),
    path("leads/<int:pk>/erase/", api.LeadEraseView.as_view(), name="api-lead-erase"),
    path("forms/<str:site_key>/", api.FormCaptureView.as_view(), name="api-form-capture"),
    path("queue/", queue_api.QueueView.as_view(), name="api-queue"),
    path("leads/<int:pk>/claim/", queue_api.LeadClaimView.as_view(), name="api-lead-claim"),
    path("leads/<int:pk>/accept/", queue_api.LeadAcceptView.as_view(), name="api-lead-accept"),
    path("leads/<int:pk>/reject/", queue_api.LeadRejectView.as_view(), name="api-lead-reject"),
    path("leads/<int:pk>/touches/", queue_api.LeadTouchView.as_view(), name="api-lead-touches"),
    path("leads/<int:pk>/qualify/", queue_api.LeadQualifyView.as_view(), name="api-lead-qualify"),
    path(
        "leads/<int:pk>/disqualify/",
        queue_api.LeadDisqualifyView.as_view(),
        name="api-lead-disqualify",
    ),
]
urlpatterns += router.urls
