from django.urls import path

from personas import views

app_name = "personas"
urlpatterns = [
    path("", views.persona_list, name="list"),
    path("new/", views.persona_create, name="create"),
    path("<int:pk>/", views.persona_detail, name="detail"),
    path("<int:pk>/edit/", views.persona_edit, name="edit"),
    path("<int:pk>/history/", views.persona_history, name="history"),
    path("<int:pk>/worksheet/", views.persona_worksheet, name="worksheet"),
    path("<int:pk>/matches/", views.persona_matches, name="matches"),
    path("<int:pk>/sign-off/", views.persona_sign_off, name="sign_off"),
    path("content/", views.content, name="content"),
    path("content/new/", views.content_create, name="content_create"),
    path("content/<int:pk>/edit/", views.content_edit, name="content_edit"),
    path("questions/", views.question_list, name="questions"),
    path("questions/new/", views.question_create, name="question_create"),
    path("questions/<int:pk>/dismiss/", views.question_dismiss, name="question_dismiss"),
]
