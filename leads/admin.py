from django.contrib import admin

from leads.models import Activity, FormSite, Lead, Stage, StageChange


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "order")
    filter_horizontal = ("allowed_next",)


class StageChangeInline(admin.TabularInline):
    model = StageChange
    fk_name = "lead"
    extra = 0
    can_delete = False
    readonly_fields = ("from_stage", "to_stage", "changed_by", "rule", "reason", "changed_at")

    def has_add_permission(self, request, obj=None):
        return False  # stage moves go through lead_change_stage, which checks the rules


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("__str__", "email", "company", "stage", "score", "owner", "created_at")
    list_filter = ("stage", "do_not_email", "do_not_call")
    search_fields = ("email", "first_name", "last_name", "company", "external_id")
    list_select_related = ("stage", "owner")
    raw_id_fields = ("owner",)
    readonly_fields = ("stage", "stage_entered_at", "created_at", "updated_at", "erased_at")
    inlines = [StageChangeInline]
    show_full_result_count = False  # COUNT(*) over 100k+ rows on every page is wasted


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("type", "lead", "occurred_at", "source", "event_id")
    list_filter = ("type",)
    search_fields = ("event_id",)
    raw_id_fields = ("lead",)
    show_full_result_count = False


@admin.register(FormSite)
class FormSiteAdmin(admin.ModelAdmin):
    list_display = ("name", "site_key", "is_active", "rate_limit_per_minute", "source")
    readonly_fields = ("created_at",)
