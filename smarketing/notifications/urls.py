from django.urls import path

from smarketing.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("badge/", views.badge, name="badge"),
    path("<int:pk>/open/", views.notification_open, name="open"),
    path("<int:pk>/read/", views.notification_read, name="read"),
    path("read-all/", views.read_all, name="read_all"),
    path("preferences/", views.preferences, name="preferences"),
    path("webhooks/", views.webhook_list, name="webhooks"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/active/", views.webhook_set_active, name="webhook_set_active"),
    path("webhooks/<int:pk>/ping/", views.webhook_ping, name="webhook_ping"),
    path("webhooks/<int:pk>/rotate/", views.webhook_rotate_secret, name="webhook_rotate_secret"),
]
