from django.contrib import admin

from goals.models import FunnelGoal, FunnelGoalChange, PacingAlert


class FunnelGoalChangeInline(admin.TabularInline):
    model = FunnelGoalChange
    extra = 0
    can_delete = False
    readonly_fields = ["changed_by", "changed_at", "changes"]


@admin.register(FunnelGoal)
class FunnelGoalAdmin(admin.ModelAdmin):
    list_display = ["__str__", "period_kind", "revenue_target", "marketing_share_pct"]
    list_filter = ["period_kind", "team"]
    readonly_fields = ["period_end", "created_by", "created_at", "updated_at"]
    inlines = [FunnelGoalChangeInline]


@admin.register(PacingAlert)
class PacingAlertAdmin(admin.ModelAdmin):
    list_display = ["goal", "day", "pacing_pct", "sent_at"]
    list_select_related = ["goal"]
    readonly_fields = [f.name for f in PacingAlert._meta.fields]
