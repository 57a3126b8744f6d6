# Included by leads/urls.py under /leads/queue/ (names join the "leads:" namespace).
from django.urls import path

from leads.handoff import views

urlpatterns = [
    path("", views.queue, name="queue"),
    path("next/", views.queue_claim_next, name="queue_claim_next"),
    path("rejections/", views.rejections, name="rejections"),
    path("<int:pk>/claim/", views.queue_claim, name="queue_claim"),
    path("<int:pk>/accept/", views.queue_accept, name="queue_accept"),
    path("<int:pk>/reject/", views.queue_reject, name="queue_reject"),
    path("<int:pk>/touches/", views.queue_touch, name="queue_touch"),
    path("<int:pk>/qualify/", views.queue_qualify, name="queue_qualify"),
    path("<int:pk>/disqualify/", views.queue_disqualify, name="queue_disqualify"),
]
