"""The inbox, its badge, channel preferences, and the webhook endpoints page."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smarketing.errors import ApplicationError
from smarketing.notifications import selectors, services
from smarketing.notifications.forms import (
    ChannelPreferenceForm,
    WebhookEndpointEditForm,
    WebhookEndpointForm,
    WebhookSecretRotateForm,
)
from smarketing.notifications.models import ChannelPreference, WebhookEndpoint
from smarketing.roles import Role, has_role, role_required

webhook_managers = role_required(Role.SALES_MANAGER)  # superusers (Admin) always pass


def _can_manage_webhooks(user) -> bool:
    return user.is_superuser or has_role(user, {Role.SALES_MANAGER})


@require_GET
def inbox(request):
    unread_only = request.GET.get("unread") == "1"
    rows = selectors.inbox(user=request.user, unread_only=unread_only)
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {
            "page": page,
            "unread_only": unread_only,
            "unread": selectors.unread_count(user=request.user),
            "can_manage_webhooks": _can_manage_webhooks(request.user),
        },
    )


@require_GET
@never_cache
def badge(request):
    """The navigation's unread count; htmx polls it."""
    return render(
        request,
        "notifications/_badge.html",
        {"unread": selectors.unread_count(user=request.user)},
    )


@require_GET
def notification_open(request, pk: int):
    """Follow a notification's link and mark it read on the way (idempotent)."""
    notification = selectors.notification_get_for_user(request.user, pk)
    services.notifications_mark_read(user=request.user, ids=[pk], now=timezone.now())
    link = notification.link
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return redirect(link)
    return redirect("notifications:inbox")


def _back(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications:inbox")


@require_POST
def notification_read(request, pk: int):
    selectors.notification_get_for_user(request.user, pk)
    services.notifications_mark_read(user=request.user, ids=[pk], now=timezone.now())
    if request.htmx:
        notification = selectors.notification_get_for_user(request.user, pk)
        response = render(request, "notifications/_row.html", {"n": notification})
        response["HX-Trigger"] = "notifications-changed"  # the badge refreshes at once
        return response
    return _back(request)


@require_POST
def read_all(request):
    marked = services.notifications_mark_read(user=request.user, now=timezone.now())
    messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} as read.")
    return _back(request)


@require_http_methods(["GET", "POST"])
def preferences(request):
    current = ChannelPreference.objects.filter(user=request.user).first()
    initial = {
        "in_app": current.in_app if current else True,
        "email": current.email if current else True,
    }
    form = ChannelPreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.channel_preference_set(user=request.user, **form.cleaned_data)
        messages.success(request, "Your notification channels are saved.")
        return redirect("notifications:preferences")
    return render(
        request,
        "notifications/preferences.html",
        {"form": form, "has_email": bool(request.user.email)},
    )


@webhook_managers
@require_http_methods(["GET", "POST"])
@sensitive_variables("secret")  # kept out of error reports
def webhook_list(request):
    form = WebhookEndpointForm(request.POST or None)
    created = secret = None
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = services.webhook_endpoint_create(
                actor=request.user, now=timezone.now(), **form.cleaned_data
            )
        except ApplicationError as exc:
            form.add_error("url", exc.message)
        else:
            # Rendered, not redirected: the secret is shown in this response and nowhere
            # else, never kept in a session or a message.
            form = WebhookEndpointForm()
    response = render(
        request,
        "notifications/webhooks.html",
        {
            "form": form,
            "endpoints": selectors.endpoints_with_stats(),
            "created": created,
            "secret": secret,
        },
    )
    if secret:
        add_never_cache_headers(response)  # no browser or proxy keeps a copy
    return response


@webhook_managers
@require_http_methods(["GET", "POST"])
def webhook_detail(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint.objects.prefetch_related("teams"), pk=pk)
    form = WebhookEndpointEditForm(request.POST or None, initial=_edit_initial(endpoint))
    if request.method == "POST" and form.is_valid():
        services.webhook_endpoint_update(endpoint=endpoint, **form.cleaned_data)
        messages.success(request, f"{endpoint.name} is saved.")
        return redirect("notifications:webhook_detail", pk=endpoint.pk)
    return _detail_page(request, endpoint, form=form)


def _edit_initial(endpoint: WebhookEndpoint) -> dict:
    return {
        "name": endpoint.name,
        "body_format": endpoint.body_format,
        "teams": list(endpoint.teams.all()),
    }


def _detail_page(request, endpoint, *, form=None, new_secret: str | None = None):
    response = render(
        request,
        "notifications/webhook_detail.html",
        {
            "endpoint": endpoint,
            "form": form or WebhookEndpointEditForm(initial=_edit_initial(endpoint)),
            "rotate_form": WebhookSecretRotateForm(),
            "new_secret": new_secret,
            "old_secret_signs": endpoint.previous_secret_signs(now=timezone.now()),
            "notifications": selectors.endpoint_notifications(endpoint=endpoint),
        },
    )
    if new_secret:
        add_never_cache_headers(response)
    return response


@webhook_managers
@require_POST
@sensitive_variables("secret")
def webhook_rotate_secret(request, pk: int):
    """A new signing secret, shown in this response only (rendered, not redirected, like
    the one shown at creation)."""
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    form = WebhookSecretRotateForm(request.POST)
    form.is_valid()  # a lone checkbox: anything not "on" means keep the old secret a while
    secret = services.webhook_endpoint_rotate_secret(
        endpoint=endpoint,
        actor=request.user,
        now=timezone.now(),
        keep_old=not form.cleaned_data.get("stop_old_now", False),
    )
    endpoint = get_object_or_404(WebhookEndpoint.objects.prefetch_related("teams"), pk=pk)
    return _detail_page(request, endpoint, new_secret=secret)


@webhook_managers
@require_POST
def webhook_ping(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    if not endpoint.active:
        messages.error(request, "Enable the endpoint before sending it a test message.")
    else:
        services.webhook_endpoint_ping(endpoint=endpoint, actor=request.user, now=timezone.now())
        messages.success(request, "Test message queued; its attempts appear below in a moment.")
    return redirect("notifications:webhook_detail", pk=endpoint.pk)


@webhook_managers
@require_POST
def webhook_set_active(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        services.webhook_endpoint_set_active(
            endpoint=endpoint,
            active=active,
            reason=f"Disabled by {request.user.get_full_name() or request.user.get_username()}.",
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{endpoint.name} is {'enabled' if active else 'disabled'}.")
    return redirect("notifications:webhook_detail", pk=endpoint.pk)
