# CSV import pages; included by leads/urls.py under /leads/import/ (names join "leads:").
from django.urls import path

from leads import import_views

urlpatterns = [
    path("", import_views.import_home, name="import"),
    path("<int:pk>/", import_views.import_mapping, name="import_mapping"),
    path("<int:pk>/cancel/", import_views.import_cancel, name="import_cancel"),
    path("<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("<int:pk>/errors.csv", import_views.import_errors, name="import_errors"),
]
