"""`/api/v1/goals/`: goals with their plan (needed per stage), the rates used and pacing."""

import django_filters
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets

from goals import access, selectors, services
from goals.models import RATE_FIELDS, FunnelGoal
from goals.periods import PeriodKind


class GoalPermission(permissions.BasePermission):
    """Managers (both sides) and admins write; marketers read too; reps and role-less users
    get 403."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return access.can_view_goals(request.user)
        if request.method == "POST":
            return access.can_add_goals(request.user)
        return access.can_change_goals(request.user)


class StageNeedSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    needed = serializers.IntegerField(allow_null=True, help_text="null: unreachable (0% rate)")


class PlanSerializer(serializers.Serializer):
    marketing_revenue = serializers.DecimalField(
        max_digits=16, decimal_places=2, source="marketing_revenue_amount"
    )
    stages = StageNeedSerializer(many=True, help_text="Bottom of the funnel first.")
    blocked_by = serializers.CharField(allow_null=True)
    blocked_message = serializers.CharField()


class RateSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    used = serializers.DecimalField(max_digits=5, decimal_places=2)
    actual = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="Over the lookback periods."
    )
    source = serializers.ChoiceField(choices=["override", "actuals", "benchmark"])
    note = serializers.CharField(help_text="Why the actual rate is not used, when it is not.")


class StagePacingSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    needed = serializers.IntegerField(allow_null=True)
    target_to_date = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    actual = serializers.IntegerField()
    pacing_pct = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    projected = serializers.IntegerField(allow_null=True)
    gap_to_date = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    projected_gap = serializers.IntegerField(allow_null=True)


class LeakSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    planned_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    actual_pct = serializers.DecimalField(max_digits=9, decimal_places=2)
    ratio_pct = serializers.DecimalField(max_digits=9, decimal_places=2)


class PacingSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["upcoming", "running", "finished"])
    elapsed_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    stages = StagePacingSerializer(many=True, help_text="Top of the funnel first.")
    revenue_actual = serializers.DecimalField(max_digits=16, decimal_places=2)
    revenue_estimated = serializers.BooleanField(
        help_text="Some won deals had no deal_value and count at the average deal size."
    )
    revenue_target_to_date = serializers.DecimalField(max_digits=16, decimal_places=2)
    revenue_projected = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    biggest_leak = LeakSerializer(source="leak", allow_null=True)
    below_alert = serializers.SerializerMethodField()

    def get_below_alert(self, figures) -> list[str]:
        return [stage.key for stage in figures.alert_stages]


class GoalSerializer(serializers.ModelSerializer):
    period_start = serializers.DateField(
        help_text="Any day in the period; stored as the period's first day."
    )
    period_label = serializers.CharField(read_only=True)
    plan = serializers.SerializerMethodField()
    rates = serializers.SerializerMethodField()
    pacing = serializers.SerializerMethodField()

    class Meta:
        model = FunnelGoal
        fields = [
            "id",
            "period_kind",
            "period_start",
            "period_end",
            "period_label",
            "team",
            "revenue_target",
            "marketing_share_pct",
            "average_deal_size",
            *RATE_FIELDS,
            "lookback_periods",
            "pacing_curve",
            "alert_below_pct",
            "notes",
            "created_at",
            "updated_at",
            "plan",
            "rates",
            "pacing",
        ]
        read_only_fields = ["period_end", "created_at", "updated_at"]
        # One goal per period and team is checked by the service (with a clear message),
        # after the day given is moved to the period's first day.
        validators = []

    def _figures(self, goal) -> selectors.GoalFigures:
        memo = self.context.setdefault("figures", {})
        if goal.pk not in memo:
            memo[goal.pk] = selectors.goal_figures(
                goal,
                now=self.context.get("now") or timezone.now(),
                cache=self.context.setdefault("actuals_cache", {}),
            )
        return memo[goal.pk]

    @extend_schema_field(PlanSerializer)
    def get_plan(self, goal):
        return PlanSerializer(self._figures(goal).plan).data

    @extend_schema_field(RateSerializer(many=True))
    def get_rates(self, goal):
        return RateSerializer(self._figures(goal).rates, many=True).data

    @extend_schema_field(PacingSerializer)
    def get_pacing(self, goal):
        return PacingSerializer(self._figures(goal)).data


class GoalFilter(django_filters.FilterSet):
    period_kind = django_filters.ChoiceFilter(choices=PeriodKind.choices)
    team = django_filters.CharFilter(help_text="'' for company-wide, marketing or sales.")
    active_on = django_filters.DateFilter(
        method="filter_active_on", label="Goals whose period contains this day"
    )

    class Meta:
        model = FunnelGoal
        fields = ["period_kind", "team", "active_on"]

    def filter_active_on(self, queryset, name, value):
        return queryset.filter(Q(period_start__lte=value) & Q(period_end__gte=value))


@extend_schema_view(
    list=extend_schema(summary="Goals with plan and pacing", tags=["goals"]),
    retrieve=extend_schema(summary="One goal with plan and pacing", tags=["goals"]),
    create=extend_schema(summary="Set a goal (managers, admins)", tags=["goals"]),
    update=extend_schema(summary="Change a goal (managers, admins)", tags=["goals"]),
    partial_update=extend_schema(summary="Change part of a goal", tags=["goals"]),
)
class GoalViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = GoalSerializer
    permission_classes = [GoalPermission]
    filterset_class = GoalFilter

    def get_queryset(self):
        return selectors.goal_list()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def perform_create(self, serializer):
        serializer.instance = services.goal_create(
            data=serializer.validated_data, actor=self.request.user, now=timezone.now()
        )

    def perform_update(self, serializer):
        serializer.instance = services.goal_update(
            goal=serializer.instance,
            data=serializer.validated_data,
            actor=self.request.user,
            now=timezone.now(),
        )
