from django.contrib import admin
from django.utils import timezone

from smarketing.models import AuditLog, Heartbeat, IngestKey
from smarketing.notifications import admin as notifications_admin  # noqa: F401 - registers


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "beat_at", "hostname")


@admin.register(IngestKey)
class IngestKeyAdmin(admin.ModelAdmin):
    """Keys are created with `manage.py create_ingest_key` (the secret is printed once);
    here they can be seen and revoked."""

    list_display = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        now = timezone.now()
        for key in queryset.filter(revoked_at=None):
            key.revoke(now=now)
            AuditLog.record(action="ingest_key.revoke", obj=key, now=now, actor=request.user)


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "object_type", "object_id")
    list_filter = ("action",)
    readonly_fields = (
        "actor",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "details",
        "at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
