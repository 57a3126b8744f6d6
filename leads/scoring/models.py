"""Scoring models: versioned, signed by both teams, applied the same way to every lead.

Imported by leads/models.py so Django registers these models in the leads app.
"""

from django.conf import settings
from django.db import models


class ModelStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PROPOSED = "proposed", "Proposed"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class ScoringModel(models.Model):
    """One version of the definition of a lead: rules plus the MQL line. Only drafts change;
    proposing freezes the rules for sign-off; exactly one model is active at a time."""

    name = models.CharField(max_length=120)
    version = models.PositiveIntegerField(unique=True)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=ModelStatus.choices, default=ModelStatus.DRAFT)
    based_on = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The MQL definition.
    min_fit = models.IntegerField(default=30)
    min_engagement = models.IntegerField(default=25)
    min_total = models.IntegerField(
        null=True,
        blank=True,
        help_text="When set, the total alone decides (fit and engagement minimums are ignored).",
    )
    require_agreed_persona = models.BooleanField(default=True)
    min_persona_fit = models.PositiveSmallIntegerField(default=50)
    block_do_not_contact = models.BooleanField(default=True)
    hand_raisers = models.JSONField(
        default=list, blank=True, help_text="Activity types that qualify at once."
    )
    hand_raiser_days = models.PositiveIntegerField(default=30)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    proposed_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        permissions = [("sign_off_scoringmodel", "Can sign off a scoring model for their team")]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="active"),
                name="scoringmodel_one_active",
            )
        ]

    def __str__(self):
        return f"v{self.version} {self.name}"

    @property
    def is_editable(self) -> bool:
        return self.status == ModelStatus.DRAFT


class RuleKind(models.TextChoices):
    FIT = "fit", "Fit: a condition on the lead"
    PERSONA_FIT = "persona_fit", "Fit: points scaled by the best persona's fit"
    ENGAGEMENT = "engagement", "Engagement: points per activity"
    EXCLUSION = "exclusion", "Exclusion: never an MQL when the condition holds"


class ScoringRule(models.Model):
    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    label = models.CharField(max_length=200, blank=True)
    order = models.PositiveIntegerField(default=0)
    points = models.IntegerField(default=0)
    # fit / exclusion: a condition on a lead field ("attributes.<name>" for custom ones).
    field = models.CharField(max_length=120, blank=True)
    operator = models.CharField(max_length=20, blank=True)
    value = models.JSONField(null=True, blank=True)
    # engagement
    activity_type = models.CharField(max_length=60, blank=True)
    property_name = models.CharField(max_length=120, blank=True)
    property_value = models.CharField(
        max_length=200, blank=True, help_text="The property must contain this text."
    )
    cap = models.PositiveIntegerField(null=True, blank=True)
    window_days = models.PositiveIntegerField(null=True, blank=True)
    half_life_days = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self):
        return self.label or f"{self.kind} rule {self.pk}"

    @property
    def short_kind(self) -> str:
        return {"persona_fit": "Persona fit"}.get(self.kind, self.kind.capitalize())


class ScoringSignOff(models.Model):
    model = models.ForeignKey(
        ScoringModel, on_delete=models.CASCADE, related_name="sign_offs", db_index=False
    )
    team = models.CharField(max_length=20)  # smarketing.roles.Team
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "team"], name="scoringsignoff_one_per_team")
        ]

    def __str__(self):
        return f"{self.team} sign-off of {self.model_id}"


class ScoringModelEvent(models.Model):
    """History: every rule edit, proposal, sign-off, activation and retirement."""

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.TextField(blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.action} on {self.model_id}"

    @property
    def action_label(self) -> str:
        return self.action.replace("_", " ").capitalize()


class LeadScore(models.Model):
    """A lead's current score under the model that produced it, with its explanation."""

    lead = models.OneToOneField(
        "leads.Lead", on_delete=models.CASCADE, related_name="current_score"
    )
    model = models.ForeignKey(ScoringModel, on_delete=models.PROTECT, related_name="+")
    fit = models.IntegerField()
    engagement = models.IntegerField()
    total = models.IntegerField()
    is_mql = models.BooleanField()
    persona = models.ForeignKey(
        "personas.Persona", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    persona_fit = models.PositiveSmallIntegerField(default=0)
    breakdown = models.JSONField(default=dict)
    scored_at = models.DateTimeField()

    def __str__(self):
        return f"lead {self.lead_id}: {self.total} (v{self.model_id})"


class RescoreStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Rescoring"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RescoreJob(models.Model):
    """A rescore of every lead under one model; the progress bar polls it."""

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="rescores")
    status = models.CharField(
        max_length=20, choices=RescoreStatus.choices, default=RescoreStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    became_mql = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Rescore {self.pk} under v{self.model_id}"

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == RescoreStatus.DONE else 0
        return min(100, round(100 * self.processed / self.total))


class ScoringBacklog(models.Model):
    """A lead whose engagement changed since its last score. Intake writes the row in the
    transaction that stores the events; the scorer takes rows set-based (SKIP LOCKED) and
    deletes them in the transaction that stores the new scores, so a worker that dies gives
    its rows back and a burst of events for one lead is scored once."""

    lead = models.OneToOneField(
        "leads.Lead", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    queued_at = models.DateTimeField()

    def __str__(self):
        return f"lead {self.lead_id} waiting since {self.queued_at:%H:%M:%S}"
