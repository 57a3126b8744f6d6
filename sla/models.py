"""The two-sided SLA: the agreement both teams sign (document + measurable terms), business
calendars, a clock per handoff promise, and the events the sweep records."""

from datetime import time

from django.conf import settings
from django.db import models


class BusinessCalendar(models.Model):
    """A team's working time: time zone, weekly hours and holidays. SLA clocks pause outside it."""

    name = models.CharField(max_length=120, unique=True)
    team = models.OneToOneField(
        "leads.SalesTeam", on_delete=models.SET_NULL, null=True, blank=True, related_name="calendar"
    )
    timezone = models.CharField(max_length=64, default="UTC")
    # {"1": [["09:00", "17:00"]], ...}: ISO weekday -> intervals of local time.
    weekly_hours = models.JSONField(default=dict)
    holiday_country = models.CharField(max_length=2, blank=True, help_text="ISO code, e.g. US, DE.")
    holiday_subdivision = models.CharField(max_length=10, blank=True, help_text="e.g. CA, BY.")
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_calendar",
            )
        ]

    def __str__(self):
        return self.name

    def as_calendar(self):
        from sla.calendar import Calendar

        hours = {
            int(day): tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in spans)
            for day, spans in (self.weekly_hours or {}).items()
        }
        return Calendar(
            timezone=self.timezone,
            hours=hours,
            holiday_country=self.holiday_country,
            holiday_subdivision=self.holiday_subdivision,
            extra_holidays=frozenset(self.holidays.values_list("day", flat=True)),
        )


class CalendarHoliday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays", db_index=False
    )
    day = models.DateField()
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["calendar", "day"], name="holiday_once")]

    def __str__(self):
        return f"{self.day}: {self.name}"


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PROPOSED = "proposed", "Awaiting signatures"
    ACTIVE = "active", "In force"
    SUPERSEDED = "superseded", "Superseded"


class SlaAgreement(models.Model):
    """One version of the agreement. Drafts change; proposing freezes it for the two team
    leads to sign; activation puts it in force and supersedes the previous version."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200, default="Sales and Marketing service level agreement")
    status = models.CharField(
        max_length=20, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT
    )
    # The document.
    marketing_responsibilities = models.TextField(blank=True)
    sales_responsibilities = models.TextField(blank=True)
    shared_responsibilities = models.TextField(blank=True, help_text="What the teams do together.")
    communication = models.TextField(blank=True, help_text="How the teams communicate.")
    handoff_criteria = models.TextField(
        blank=True, help_text="When leads pass to Sales (the active MQL definition is linked)."
    )
    nurture_policy = models.TextField(
        blank=True, help_text="What happens to leads not ready to buy."
    )
    quota_needs = models.TextField(
        blank=True, help_text="How many qualified leads Sales needs (the funnel goal is linked)."
    )
    touch_policy = models.TextField(blank=True, help_text="How many calls and emails per lead.")
    review_cadence = models.TextField(blank=True, help_text="How often the teams meet to review.")
    # Sales' measurable terms (business minutes of the team's calendar).
    accept_within_minutes = models.PositiveIntegerField(default=60)
    first_touch_within_minutes = models.PositiveIntegerField(default=5)
    min_attempts = models.PositiveSmallIntegerField(default=6)
    attempts_within_days = models.PositiveSmallIntegerField(default=10)
    pool_claim_within_minutes = models.PositiveIntegerField(default=15)
    warn_at_percent = models.PositiveSmallIntegerField(
        default=75, help_text="Warn the rep when this share of a window has passed."
    )
    # Marketing's measurable terms.
    min_mqls_per_month = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: taken from the funnel goal of the period."
    )
    min_acceptance_percent = models.PositiveSmallIntegerField(default=70)
    max_not_icp_percent = models.PositiveSmallIntegerField(default=15)
    review_weekday = models.PositiveSmallIntegerField(
        default=1, help_text="ISO weekday of the weekly review."
    )

    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    proposed_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        permissions = [
            ("sign_off_slaagreement", "Can sign the SLA for their team"),
            ("view_compliance", "Can see SLA compliance dashboards"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="active"), name="one_active_sla"
            )
        ]

    def __str__(self):
        return f"SLA v{self.version}"

    @property
    def is_editable(self) -> bool:
        return self.status == AgreementStatus.DRAFT


class SlaSignOff(models.Model):
    agreement = models.ForeignKey(
        SlaAgreement, on_delete=models.CASCADE, related_name="sign_offs", db_index=False
    )
    team = models.CharField(max_length=20)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agreement", "team"], name="sla_sign_once")]

    def __str__(self):
        return f"{self.team} signed v{self.agreement_id}"


class ClockKind(models.TextChoices):
    ACCEPT = "accept", "Accept or reject"
    FIRST_TOUCH = "first_touch", "First touch"
    ATTEMPTS = "attempts", "Follow-up attempts"
    POOL_CLAIM = "pool_claim", "Claim from the pool"


class ClockStatus(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"
    MET = "met", "Met"
    CANCELLED = "cancelled", "No longer applies"


RUNNING = ("on_track", "at_risk")


class SlaClock(models.Model):
    """One promise about one handoff, timed in the team's business hours."""

    # one_clock_per_promise (handoff, kind) serves lookups by handoff.
    handoff = models.ForeignKey(
        "leads.Handoff", on_delete=models.CASCADE, related_name="sla_clocks", db_index=False
    )
    agreement = models.ForeignKey(SlaAgreement, on_delete=models.PROTECT, related_name="clocks")
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    status = models.CharField(
        max_length=20, choices=ClockStatus.choices, default=ClockStatus.ON_TRACK
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    # The handoff's creation time, copied (it never changes): the dashboards pick a
    # period's clocks by it through one index range instead of joining every handoff.
    handoff_created_at = models.DateTimeField()
    warn_at = models.DateTimeField()
    due_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    # The sweep pushes this forward when handling a row fails, so one bad row cannot stall it.
    next_check_at = models.DateTimeField()

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(fields=["handoff", "kind"], name="one_clock_per_promise")
        ]
        indexes = [
            models.Index(
                fields=["next_check_at"],
                name="slaclock_running",
                condition=models.Q(status__in=RUNNING),
            ),
            models.Index(fields=["kind", "status", "started_at"], name="slaclock_report"),
            # The dashboards count a period's clocks (per owner, per week) from this index
            # alone: a range over the handoffs' creation times, no join to the handoffs.
            models.Index(
                fields=["handoff_created_at", "kind", "status", "owner"], name="slaclock_period"
            ),
        ]

    def __str__(self):
        return f"{self.kind} clock of handoff {self.handoff_id}: {self.status}"


class SlaEventKind(models.TextChoices):
    WARNED = "warned", "At risk: rep warned"
    BREACHED = "breached", "Breached: manager told"
    ESCALATED = "escalated", "Escalated: lead reassigned"
    MET = "met", "Met"


class SlaEvent(models.Model):
    """What the sweep did, once each; notifying is a separate step that claims the row."""

    clock = models.ForeignKey(
        SlaClock, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=20, choices=SlaEventKind.choices)
    at = models.DateTimeField()
    detail = models.TextField(blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["clock", "kind"], name="sla_event_once")]
        indexes = [
            models.Index(
                fields=["at"],
                name="slaevent_unnotified",
                condition=models.Q(notified_at__isnull=True),
            )
        ]

    def __str__(self):
        return f"{self.kind} on clock {self.clock_id}"


class ReviewSent(models.Model):
    """The weekly review email, once per week: the row for the week is the claim (unique per
    Monday of the week it was sent in); `sent_at` is set once the mail went out."""

    week = models.DateField(unique=True, help_text="Monday of the week the review went out.")
    period_start = models.DateField()
    period_end = models.DateField()
    agreement = models.ForeignKey(
        SlaAgreement, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recipients = models.JSONField(default=list)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-week"]

    def __str__(self):
        return f"Weekly review of {self.period_start}"
