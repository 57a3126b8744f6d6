from django.contrib import admin

from personas.models import (
    ContentPiece,
    Persona,
    PersonaCriterion,
    PersonaSignOff,
    PersonaVersion,
    ProspectQuestion,
)


class CriterionInline(admin.TabularInline):
    model = PersonaCriterion
    extra = 0


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "version", "fit_threshold", "updated_at"]
    list_filter = ["status"]
    search_fields = ["name", "summary"]
    # Status, version and agreement move only through the sign-off and edit services.
    readonly_fields = ["status", "version", "agreed_at", "created_at", "updated_at"]
    inlines = [CriterionInline]


@admin.register(PersonaVersion)
class PersonaVersionAdmin(admin.ModelAdmin):
    list_display = ["persona", "number", "created_at", "agreed_at"]
    list_select_related = ["persona"]
    readonly_fields = [f.name for f in PersonaVersion._meta.fields]


@admin.register(PersonaSignOff)
class PersonaSignOffAdmin(admin.ModelAdmin):
    list_display = ["persona", "version", "team", "user", "signed_at"]
    list_select_related = ["persona", "version", "user"]
    readonly_fields = [f.name for f in PersonaSignOff._meta.fields]


@admin.register(ContentPiece)
class ContentPieceAdmin(admin.ModelAdmin):
    list_display = ["title", "format", "stage", "authored_by_team", "updated_at"]
    list_filter = ["stage", "format", "authored_by_team", "personas"]
    search_fields = ["title", "notes"]


@admin.register(ProspectQuestion)
class ProspectQuestionAdmin(admin.ModelAdmin):
    list_display = ["question", "persona", "stage", "status", "submitted_at"]
    list_filter = ["status", "stage"]
    list_select_related = ["persona"]
