"""/api/v1/sla/: the agreement's versions (document, measurable terms, signatures; the one
in force marked), their life (draft -> proposed -> signed by both leads -> in force), and
/api/v1/sla/calendars/: the business calendars the clocks run on. Rules live in services;
an ApplicationError becomes a 400/409 with a message per field."""

import re

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from leads.routing.models import SalesTeam
from sla import documents, services
from sla.calendar import add_business_minutes
from sla.forms import AgreementForm
from sla.models import AgreementStatus, BusinessCalendar, SlaAgreement, SlaSignOff

WRITABLE = AgreementForm.Meta.fields


class SlaPermission(permissions.BasePermission):
    """Everyone with a role reads; the managers write; signing is checked per action (and
    again by the service, which also wants a Marketing or Sales lead)."""

    read_perm = "sla.view_slaagreement"
    write_perm = "sla.change_slaagreement"

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return request.user.has_perm(self.read_perm)
        needed = getattr(view, "action_perms", {}).get(view.action, self.write_perm)
        return request.user.has_perm(needed)


class CalendarPermission(SlaPermission):
    write_perm = "sla.change_businesscalendar"


class SlaSignOffSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    name = serializers.SerializerMethodField()

    class Meta:
        model = SlaSignOff
        fields = ["team", "user", "name", "signed_at"]

    def get_name(self, sign_off) -> str:
        return sign_off.user.get_full_name() or sign_off.user.username


class SlaTermSerializer(serializers.Serializer):
    team = serializers.CharField(help_text="sales, marketing or both")
    text = serializers.CharField()
    fields = serializers.ListField(child=serializers.CharField(), source="field_names")


class AgreementSerializer(serializers.ModelSerializer):
    """Read and write: the document sections and terms are writable on a draft; the rest is
    the version's life."""

    in_force = serializers.SerializerMethodField()
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )
    sign_offs = SlaSignOffSerializer(many=True, read_only=True)
    terms_in_words = serializers.SerializerMethodField()

    class Meta:
        model = SlaAgreement
        fields = [
            "id",
            "version",
            "status",
            "in_force",
            *WRITABLE,
            "effective_to",
            "terms_in_words",
            "sign_offs",
            "created_by",
            "created_at",
            "proposed_at",
            "activated_at",
        ]
        read_only_fields = [
            "version",
            "status",
            "effective_to",
            "created_at",
            "proposed_at",
            "activated_at",
        ]

    def get_in_force(self, agreement) -> bool:
        return agreement.status == AgreementStatus.ACTIVE

    @extend_schema_field(SlaTermSerializer(many=True))
    def get_terms_in_words(self, agreement) -> list[dict]:
        ctx = self.context.get("documents_context")
        return SlaTermSerializer(documents.terms_in_words(agreement, ctx), many=True).data

    def create(self, validated_data):
        return services.agreement_create(
            actor=self.context["request"].user, now=timezone.now(), **validated_data
        )

    def update(self, instance, validated_data):
        return services.agreement_update(agreement=instance, now=timezone.now(), **validated_data)


class SlaChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    before = serializers.CharField()
    after = serializers.CharField()


class AgreementViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Versions of the SLA, newest first. POST creates a draft; PATCH changes a draft (409
    once it is proposed); DELETE discards a draft or an unsigned proposal."""

    serializer_class = AgreementSerializer
    permission_classes = [permissions.IsAuthenticated, SlaPermission]
    action_perms = {"sign": "sla.sign_off_slaagreement"}
    filterset_fields = ["status"]
    # Digits only, so /sla/compliance/ and /sla/calendars/ never read as an agreement id.
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return SlaAgreement.objects.select_related("created_by").prefetch_related(
            Prefetch("sign_offs", queryset=SlaSignOff.objects.select_related("user"))
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["documents_context"] = documents.context_today(today=timezone.localdate())
        return context

    def perform_destroy(self, instance):
        services.agreement_discard(agreement=instance)

    def _fresh(self, request, pk) -> Response:
        agreement = self.get_queryset().get(pk=pk)
        return Response(self.get_serializer(agreement).data)

    @extend_schema(request=None, responses={200: AgreementSerializer})
    @action(detail=True, methods=["post"])
    def propose(self, request, pk=None):
        """Freeze a draft and send it to the Marketing and Sales leads to sign."""
        agreement = self.get_object()
        now = timezone.now()
        services.agreement_propose(agreement=agreement, now=now)
        services.agreement_proposed_notify(agreement=agreement, now=now)
        return self._fresh(request, agreement.pk)

    @extend_schema(request=None, responses={200: AgreementSerializer})
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        """Sign for your team. When both teams have signed, this version is in force and
        the previous one is superseded (its effective_to is today)."""
        agreement = self.get_object()
        services.agreement_sign(agreement=agreement, user=request.user, now=timezone.now())
        return self._fresh(request, agreement.pk)

    @extend_schema(request=None, responses={201: AgreementSerializer})
    @action(detail=True, methods=["post"], url_path="new-version")
    def new_version(self, request, pk=None):
        """A draft copying this version (409 while another draft or proposal is open)."""
        source = self.get_object()
        draft = services.agreement_new_version(
            based_on=source, actor=request.user, now=timezone.now()
        )
        fresh = self.get_queryset().get(pk=draft.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "against",
                OpenApiTypes.INT,
                description="Agreement id (default: the version before).",
            )
        ],
        responses={200: SlaChangeSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def diff(self, request, pk=None):
        """What changed from another version: one row per field that differs."""
        agreement = self.get_object()
        against = request.query_params.get("against")
        older = SlaAgreement.objects.all()
        if against:
            base = older.filter(pk=against).first() if against.isdigit() else None
        else:
            base = older.filter(version__lt=agreement.version).order_by("-version").first()
        if base is None:
            raise NotFound("No version to compare with.")
        changes = documents.agreement_diff(base, agreement)
        return Response(SlaChangeSerializer(changes, many=True).data)


# --- Calendars


class SlaHolidaySerializer(serializers.Serializer):
    day = serializers.DateField()
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


def _hhmm(value) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise serializers.ValidationError(f"{value!r} is not a time like 09:00.")
    return value


class CalendarSerializer(serializers.ModelSerializer):
    team = serializers.PrimaryKeyRelatedField(
        queryset=SalesTeam.objects.all(), allow_null=True, required=False
    )
    weekly_hours = serializers.JSONField(
        help_text='ISO weekday -> [[start, end], ...] in local time, e.g. {"1": [["09:00", '
        '"17:00"]]}.'
    )
    extra_holidays = SlaHolidaySerializer(many=True, required=False, source="holidays")
    upcoming_holidays = serializers.SerializerMethodField()

    class Meta:
        model = BusinessCalendar
        fields = [
            "id",
            "name",
            "team",
            "is_default",
            "timezone",
            "weekly_hours",
            "holiday_country",
            "holiday_subdivision",
            "extra_holidays",
            "upcoming_holidays",
        ]
        # The service checks uniqueness with a message naming the clash.
        extra_kwargs = {"name": {"validators": []}, "team": {"validators": []}}

    def validate_weekly_hours(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("An object of ISO weekday -> list of [start, end].")
        clean = {}
        for day, spans in value.items():
            if not isinstance(spans, list) or not all(
                isinstance(s, list | tuple) and len(s) == 2 for s in spans
            ):
                raise serializers.ValidationError(f"Day {day}: a list of [start, end] pairs.")
            clean[str(day)] = [[_hhmm(a), _hhmm(b)] for a, b in spans]
        return clean

    @extend_schema_field(SlaHolidaySerializer(many=True))
    def get_upcoming_holidays(self, calendar) -> list[dict]:
        from sla.views import upcoming_holidays

        if self.context.get("view") and self.context["view"].action == "list":
            return []  # the list stays cheap; ask a calendar for its holidays
        days = upcoming_holidays(calendar, today=timezone.localdate())
        return [{"day": day, "name": name} for day, name in days]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["extra_holidays"] = [
            {"day": h.day.isoformat(), "name": h.name} for h in instance.holidays.all()
        ]
        return data

    def _save(self, instance, validated_data):
        holidays = validated_data.pop("holidays", None)
        current = {
            "name": instance.name if instance else "",
            "team": instance.team if instance else None,
            "is_default": instance.is_default if instance else False,
            "timezone": instance.timezone if instance else "UTC",
            "weekly_hours": instance.weekly_hours if instance else {},
            "holiday_country": instance.holiday_country if instance else "",
            "holiday_subdivision": instance.holiday_subdivision if instance else "",
        }
        current.update(validated_data)
        return services.calendar_save(
            calendar=instance,
            extra_holidays=(
                [(h["day"], h.get("name", "")) for h in holidays] if holidays is not None else None
            ),
            **current,
        )

    def create(self, validated_data):
        return self._save(None, validated_data)

    def update(self, instance, validated_data):
        return self._save(instance, validated_data)


class SlaDueSerializer(serializers.Serializer):
    start = serializers.CharField(
        help_text="ISO 8601; without an offset it means the calendar's local time."
    )
    minutes = serializers.IntegerField(min_value=1, max_value=60 * 24 * 60)

    def validate_start(self, value):
        try:
            moment = parse_datetime(value)
        except ValueError:
            moment = None
        if moment is None:
            raise serializers.ValidationError(
                f"{value!r} is not a date and time like 2026-12-24T16:30."
            )
        return moment


class CalendarViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Business calendars: time zone, weekly hours, public holidays by country (holidays
    library) and the company's own days off. Sales managers and admins change them."""

    serializer_class = CalendarSerializer
    permission_classes = [permissions.IsAuthenticated, CalendarPermission]
    action_perms = {"create": "sla.add_businesscalendar"}
    pagination_class = None

    def get_queryset(self):
        return BusinessCalendar.objects.select_related("team").prefetch_related("holidays")

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, required=True),
            OpenApiParameter("minutes", OpenApiTypes.INT, required=True),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def due(self, request, pk=None):
        """When `minutes` business minutes after `start` end on this calendar."""
        calendar = self.get_object()
        data = SlaDueSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        cal = calendar.as_calendar()
        start = data.validated_data["start"]
        if start.tzinfo is None:
            # No offset given: the wall clock of the calendar, not of the server.
            start = start.replace(tzinfo=cal.tz)
        due = add_business_minutes(start, data.validated_data["minutes"], cal)
        return Response(
            {
                "start": start.astimezone(cal.tz).isoformat(),
                "due": due.astimezone(cal.tz).isoformat(),
                "timezone": calendar.timezone,
            }
        )
