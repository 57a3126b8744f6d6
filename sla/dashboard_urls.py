"""The compliance dashboards, included under /sla/compliance/ in the `sla` namespace."""

from django.urls import path

from sla import dashboard_views

urlpatterns = [
    path("", dashboard_views.compliance, name="compliance"),
    path("sales/", dashboard_views.compliance_sales, name="compliance_sales"),
    path("marketing/", dashboard_views.compliance_marketing, name="compliance_marketing"),
    path("review/", dashboard_views.review, name="review"),
]
