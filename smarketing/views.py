import sys

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from smarketing.health import health_report
from smarketing.navigation import NAV_BY_URL_NAME, can_see, nav_for
from smarketing.roles import user_roles, user_team


def home(request):
    cards = [item for item in nav_for(request.user, request.path) if item["url"] != "/"]
    return render(
        request,
        "smarketing/home.html",
        {
            "cards": cards,
            "has_role": bool(user_roles(request.user)),
            "team": user_team(request.user),
        },
    )


@login_not_required
@require_GET
@never_cache
def healthz(request):
    report = health_report(now=timezone.now())
    return JsonResponse(report, status=200 if report["ok"] else 503)


def placeholder(request, *, title: str, issue: str):
    """A page that a later piece of work fills; it says so instead of pretending. Access
    follows the navigation's roles for the page."""
    item = NAV_BY_URL_NAME.get(
        f"{request.resolver_match.namespace}:{request.resolver_match.url_name}"
    )
    if item is not None and not can_see(request.user, item):
        raise PermissionDenied
    return render(request, "smarketing/placeholder.html", {"title": title, "issue": issue})


RETRY_AFTER_SECONDS = 5


def server_error(request):
    """Django's 500 handler, which sees errors from every layer (sessions, auth, views).
    A database outage (PostgreSQL restarting) becomes 503 with Retry-After so clients retry;
    events are idempotent by event_id, so a retry never duplicates one."""
    exc = sys.exc_info()[1]
    if not isinstance(exc, OperationalError | InterfaceError):
        return defaults.server_error(request)
    if request.path_info.startswith("/api/") or request.path_info == "/healthz":
        response = JsonResponse(
            {"detail": "The database is unavailable; retry shortly."}, status=503
        )
    else:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def page_not_found(request, exception):
    """Django's 404 handler. An API client asking for a URL no route matches (a malformed
    id, a typo) gets JSON like every other API error, not an HTML page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
