from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
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


# --- Role changes: roles are groups, so who joined or left one (and who was made a
# superuser) is recorded, as is any change to what a role may do.

User = get_user_model()


def _role_state(user) -> tuple[set[str], bool]:
    if user.pk is None:
        return set(), False
    fresh = User.objects.filter(pk=user.pk).values_list("is_superuser", flat=True).first()
    return set(user.groups.values_list("name", flat=True)), bool(fresh)


admin.site.unregister(User)


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    def save_model(self, request, obj, form, change):
        request._audit_before = _role_state(obj) if change else (set(), False)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        user = form.instance
        groups_before, superuser_before = getattr(request, "_audit_before", (set(), False))
        groups_after = set(user.groups.values_list("name", flat=True))
        if groups_after != groups_before or user.is_superuser != superuser_before:
            AuditLog.record(
                action="user.roles_change",
                obj=user,
                now=timezone.now(),
                actor=request.user,
                details={
                    "added": sorted(groups_after - groups_before),
                    "removed": sorted(groups_before - groups_after),
                    "superuser": user.is_superuser,
                },
            )


admin.site.unregister(Group)


@admin.register(Group)
class AuditedGroupAdmin(GroupAdmin):
    def save_model(self, request, obj, form, change):
        before = obj.permissions.values_list("codename", flat=True) if obj.pk else []
        request._audit_before = set(before)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        after = set(form.instance.permissions.values_list("codename", flat=True))
        before = getattr(request, "_audit_before", set())
        if after != before:
            AuditLog.record(
                action="role.permissions_change",
                obj=form.instance,
                now=timezone.now(),
                actor=request.user,
                details={"added": sorted(after - before), "removed": sorted(before - after)},
            )
