from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from goals.periods import PeriodKind, period_label

_PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]
# Override rates must leave the funnel computable: 0% would need infinitely many visits.
_RATE = [MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(100))]


class GoalTeam(models.TextChoices):
    """Whose goal it is. Blank is the whole company; the lead data behind the actuals is the
    same for every goal, only the targets differ."""

    ALL = "", "Whole company"
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"


class PacingCurve(models.TextChoices):
    LINEAR = "linear", "Linear (every calendar day counts the same)"
    WEEKDAYS = "weekdays", "Weekdays only (weekends add nothing to the target)"


# Conversion-rate fields, top of the funnel first. Blank means "use the actuals of the last
# `lookback_periods` periods"; a value overrides them.
RATE_FIELDS = ("rate_visit_to_lead", "rate_lead_to_mql", "rate_mql_to_sql", "rate_sql_to_won")


class FunnelGoal(models.Model):
    period_kind = models.CharField(max_length=10, choices=PeriodKind.choices)
    period_start = models.DateField(help_text="First day of the month, quarter or year.")
    period_end = models.DateField(help_text="Last day of the period (inclusive).")
    team = models.CharField(max_length=20, choices=GoalTeam.choices, blank=True, default="")
    revenue_target = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal(0))]
    )
    marketing_share_pct = models.DecimalField(
        "marketing's share (%)",
        max_digits=5,
        decimal_places=2,
        validators=_PERCENT,
        help_text="The part of the revenue target that marketing-sourced deals must bring.",
    )
    average_deal_size = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    rate_visit_to_lead = models.DecimalField(
        "visit → lead (%)", max_digits=5, decimal_places=2, null=True, blank=True, validators=_RATE
    )
    rate_lead_to_mql = models.DecimalField(
        "lead → MQL (%)", max_digits=5, decimal_places=2, null=True, blank=True, validators=_RATE
    )
    rate_mql_to_sql = models.DecimalField(
        "MQL → SQL (%)", max_digits=5, decimal_places=2, null=True, blank=True, validators=_RATE
    )
    rate_sql_to_won = models.DecimalField(
        "SQL → won (%)", max_digits=5, decimal_places=2, null=True, blank=True, validators=_RATE
    )
    lookback_periods = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text="Blank rates default to the actuals of this many previous periods.",
    )
    pacing_curve = models.CharField(
        max_length=10, choices=PacingCurve.choices, default=PacingCurve.LINEAR
    )
    alert_below_pct = models.DecimalField(
        "alert managers below (%)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(1)), MaxValueValidator(Decimal(100))],
        help_text="Email managers (at most once a day) when a stage paces below this share "
        "of its target to date. Blank: no alerts.",
    )
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_start", "period_kind", "team"]
        constraints = [
            models.UniqueConstraint(
                fields=["period_kind", "period_start", "team"], name="funnelgoal_one_per_period"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="funnelgoal_period_ordered",
            ),
        ]
        indexes = [models.Index(fields=["period_start", "period_end"], name="funnelgoal_period")]

    def __str__(self):
        return f"{self.period_label} · {self.get_team_display()}"

    @property
    def period_label(self) -> str:
        return period_label(self.period_kind, self.period_start)

    def contains(self, day: date) -> bool:
        return self.period_start <= day <= self.period_end

    def rate_overrides(self) -> dict[str, Decimal | None]:
        """Rate key (as the calculator names it) -> the override, or None to use actuals."""
        return {field.removeprefix("rate_"): getattr(self, field) for field in RATE_FIELDS}


class FunnelGoalChange(models.Model):
    """History: who set or changed a goal, and which values moved (old -> new)."""

    goal = models.ForeignKey(FunnelGoal, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField()
    changes = models.JSONField(default=dict, help_text="field -> [old, new] (as text)")

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        return f"Goal {self.goal_id} changed at {self.changed_at:%Y-%m-%d %H:%M}"

    @property
    def is_creation(self) -> bool:
        return all(old is None for old, _ in self.changes.values())


class PacingAlert(models.Model):
    """One row per goal per day on which pacing fell below the goal's alert level: the claim
    that keeps the alert email to once a day, and the record of what was sent."""

    goal = models.ForeignKey(
        FunnelGoal, on_delete=models.CASCADE, related_name="pacing_alerts", db_index=False
    )
    day = models.DateField()
    pacing_pct = models.DecimalField(max_digits=7, decimal_places=2)
    stages = models.JSONField(default=list, help_text="The stages below the level.")
    recipients = models.JSONField(default=list)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["goal", "day"], name="pacingalert_once_per_day")
        ]

    def __str__(self):
        return f"Pacing alert for goal {self.goal_id} on {self.day}"
