from django.urls import include, path

from leads import views

app_name = "leads"
urlpatterns = [
    path("", views.lead_list, name="list"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/stage/", views.lead_change_stage, name="change_stage"),
    path("<int:pk>/export/", views.lead_export, name="export"),
    path("<int:pk>/erase/", views.lead_erase, name="erase"),
    path("scoring/", include("leads.scoring.urls")),
    path("routing/", include("leads.routing.urls")),
    path("import/", include("leads.import_urls")),
    path("content-wins/", views.content_wins, name="content_wins"),
    path("queue/", include("leads.handoff.urls")),
]
