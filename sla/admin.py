from django.contrib import admin

from sla.models import (
    BusinessCalendar,
    CalendarHoliday,
    SlaAgreement,
    SlaClock,
    SlaEvent,
    SlaSignOff,
)


class HolidayInline(admin.TabularInline):
    model = CalendarHoliday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "timezone", "holiday_country", "is_default"]
    inlines = [HolidayInline]


class SignOffInline(admin.TabularInline):
    model = SlaSignOff
    extra = 0
    can_delete = False
    readonly_fields = ["team", "user", "signed_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SlaAgreement)
class SlaAgreementAdmin(admin.ModelAdmin):
    list_display = ["version", "status", "effective_from", "effective_to", "created_by"]
    list_filter = ["status"]
    # The life of a version (status, dates, signatures) moves only through the services.
    readonly_fields = [
        "version",
        "status",
        "effective_to",
        "created_by",
        "created_at",
        "proposed_at",
        "activated_at",
    ]
    inlines = [SignOffInline]


class EventInline(admin.TabularInline):
    model = SlaEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "at", "detail", "notified_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SlaClock)
class SlaClockAdmin(admin.ModelAdmin):
    list_display = ["handoff", "kind", "status", "owner", "started_at", "due_at", "met_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["handoff", "owner"]
    raw_id_fields = ["handoff", "owner"]
    readonly_fields = ["agreement", "started_at", "warn_at", "due_at", "met_at", "breached_at"]
    inlines = [EventInline]


@admin.register(SlaEvent)
class SlaEventAdmin(admin.ModelAdmin):
    list_display = ["clock", "kind", "at", "notified_at"]
    list_filter = ["kind"]
    list_select_related = ["clock"]
    raw_id_fields = ["clock"]
