from django.urls import path
from rest_framework.routers import DefaultRouter

from sla.dashboard_api import ComplianceView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False

urlpatterns = router.urls
# Before any router route so that "compliance" is never read as an agreement id.
urlpatterns.insert(0, path("sla/compliance/", ComplianceView.as_view(), name="sla-compliance"))
