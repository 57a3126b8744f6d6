from django.urls import path
from rest_framework.routers import DefaultRouter

from sla.api import AgreementViewSet, CalendarViewSet
from sla.dashboard_api import ComplianceView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
# Calendars first: the agreement routes would otherwise see "calendars" as a lookup.
router.register("sla/calendars", CalendarViewSet, basename="sla-calendar")
router.register("sla", AgreementViewSet, basename="sla-agreement")

urlpatterns = router.urls
# Before any router route so that "compliance" is never read as an agreement id.
urlpatterns.insert(0, path("sla/compliance/", ComplianceView.as_view(), name="sla-compliance"))
