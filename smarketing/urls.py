from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from smarketing import views
from smarketing.login import RateLimitedAuthenticationForm

# The intake and the sales queue take most requests: their module is tried first, and the
# API before the pages (Django tries the patterns in order on every request).
api_v1 = [
    path("", include("leads.api_urls")),
    path("", include("personas.api_urls")),
    path("", include("sla.api_urls")),
    path("", include("goals.api_urls")),
    path("", include("smarketing.notifications.api_urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=RateLimitedAuthenticationForm
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("personas/", include("personas.urls")),
    path("leads/", include("leads.urls")),
    path("sla/", include("sla.urls")),
    path("goals/", include("goals.urls")),
    path("notifications/", include("smarketing.notifications.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The HTML docs are pages for people: send them to the login page, not a JSON 403.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        login_required(SpectacularRedocView.as_view(url_name="api-schema")),
        name="api-redoc",
    ),
]

handler404 = "smarketing.views.page_not_found"
handler500 = "smarketing.views.server_error"
