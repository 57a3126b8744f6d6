"""Admins see every outbox row and every delivery attempt, and can re-queue dead rows."""

from django.contrib import admin
from django.utils import timezone

from smarketing.notifications.models import (
    ChannelPreference,
    DeliveryAttempt,
    DeliveryStatus,
    Notification,
    WebhookEndpoint,
)
from smarketing.notifications.services import relay_on_commit


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("attempted_at", "ok", "status_code", "error", "duration_ms")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "channel", "recipient", "endpoint", "status", "attempts")
    list_filter = ("status", "channel", "kind")
    search_fields = ("key", "title")
    list_select_related = ("recipient", "endpoint")
    readonly_fields = [f.name for f in Notification._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["requeue"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry the selected messages now")
    def requeue(self, request, queryset):
        now = timezone.now()
        ids = list(
            queryset.filter(status__in=[DeliveryStatus.DEAD, DeliveryStatus.RETRYING]).values_list(
                "pk", flat=True
            )
        )
        Notification.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.RETRYING, next_attempt_at=now, attempts=0
        )
        for pk in ids:
            relay_on_commit(pk)
        self.message_user(request, f"{len(ids)} message(s) queued again.")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "body_format", "active", "disabled_reason")
    list_filter = ("active",)
    # The secret is shown once, on creation or rotation in the app; never here. Its columns
    # hold only ciphertext and are not editable, and are excluded all the same.
    exclude = ("secret_encrypted", "previous_secret_encrypted")
    readonly_fields = ("created_by", "created_at", "previous_secret_until")

    def has_add_permission(self, request):
        return False


@admin.register(ChannelPreference)
class ChannelPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "in_app", "email")
