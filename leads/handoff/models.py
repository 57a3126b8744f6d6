"""The handoff from Marketing to Sales: one row per qualification, the routing ledger that
explains who got it, and the touches Sales logs.

Imported by leads/models.py so Django registers these models in the leads app."""

from django.conf import settings
from django.db import models


class HandoffStatus(models.TextChoices):
    POOL = "pool", "In the team's pool"  # nobody owns it yet; any team rep may claim
    ASSIGNED = "assigned", "Assigned, waiting for acceptance"
    ACCEPTED = "accepted", "Accepted (SAL)"
    REJECTED = "rejected", "Rejected back to Marketing"
    QUALIFIED = "qualified", "Qualified (SQL)"
    DISQUALIFIED = "disqualified", "Disqualified"


OPEN_STATUSES = (HandoffStatus.POOL, HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED)


class RejectReason(models.TextChoices):
    NOT_ICP = "not_icp", "Not our ICP"
    BAD_CONTACT = "bad_contact", "Bad contact data"
    NO_BUDGET = "no_budget", "No budget or authority"
    DUPLICATE = "duplicate", "Duplicate"
    EXISTING_CUSTOMER = "existing_customer", "Existing customer"
    COMPETITOR = "competitor", "Competitor"
    OTHER = "other", "Other"


class Handoff(models.Model):
    """Created exactly once per qualification: the MQL StageChange is unique here, so a
    retried task or a second worker cannot hand the same qualification over twice."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="handoffs")
    qualification = models.OneToOneField(
        "leads.StageChange", on_delete=models.PROTECT, related_name="handoff"
    )
    scoring_model = models.ForeignKey(
        "leads.ScoringModel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    score = models.JSONField(
        default=dict, help_text="The score and its breakdown when it qualified."
    )
    why = models.TextField(help_text="Why it qualified, in plain words.")
    status = models.CharField(
        max_length=20, choices=HandoffStatus.choices, default=HandoffStatus.POOL
    )
    team = models.ForeignKey(
        "leads.SalesTeam", on_delete=models.SET_NULL, null=True, blank=True, related_name="handoffs"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="handoffs",
        db_index=False,  # handoff_owner_status leads with the owner
    )
    created_at = models.DateTimeField()
    # Set by the SLA when the handoff is created (business time of the team's calendar).
    accept_due_at = models.DateTimeField(null=True, blank=True)
    first_touch_due_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(max_length=30, choices=RejectReason.choices, blank=True)
    reject_note = models.TextField(blank=True)
    # What Marketing's conversion figures group and filter by, on the handoff itself so a
    # period's figures read the handoffs alone (no join to a million leads). The persona and
    # source are the lead's when it was handed over, as the scoring model is; the stage is
    # the lead's current one (SQL, won), kept in step by leads_move.
    lead_stage = models.ForeignKey("leads.Stage", on_delete=models.PROTECT, related_name="+")
    persona = models.ForeignKey(
        "personas.Persona", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=100, blank=True)
    # How many touches the rep logged, counted by handoff_touch as it records each one: the
    # attempts figures read it instead of counting every handoff's touches.
    touch_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "team", "created_at"], name="handoff_queue"),
            models.Index(fields=["owner", "status"], name="handoff_owner_status"),
            # The compliance dashboards select a period of handoffs by creation time; the
            # 12-week trend (handoffs and accepted per week) reads this index alone.
            models.Index(fields=["created_at"], include=["accepted_at"], name="handoff_created"),
            # The queue page reads the pool most urgent first (QUEUE_ORDER) and stops after
            # a page: only pool rows, so the index stays small and changes only on claims.
            models.Index(
                fields=["accept_due_at", "created_at", "id"],
                name="handoff_pool_due",
                condition=models.Q(status="pool"),
            ),
        ]

    def __str__(self):
        return f"Handoff {self.pk} of lead {self.lead_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class RoutingDecision(models.Model):
    """The routing ledger: every decision and its reason, in words a manager can check."""

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="decisions")
    rule = models.ForeignKey(
        "leads.RoutingRule", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target_kind = models.CharField(max_length=20)
    team = models.ForeignKey(
        "leads.SalesTeam", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField()
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["decided_at", "id"]

    def __str__(self):
        return self.reason


class TouchKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    SOCIAL = "social", "Social"


class TouchOutcome(models.TextChoices):
    CONNECTED = "connected", "Connected"
    NO_ANSWER = "no_answer", "No answer"
    VOICEMAIL = "voicemail", "Voicemail"
    BOUNCED = "bounced", "Bounced"


class Touch(models.Model):
    """A sales follow-up attempt, optionally citing the content sent."""

    # touch_handoff_time leads with the handoff.
    handoff = models.ForeignKey(
        Handoff, on_delete=models.CASCADE, related_name="touches", db_index=False
    )
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="touches")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=TouchKind.choices)
    outcome = models.CharField(max_length=20, choices=TouchOutcome.choices)
    content = models.ForeignKey(
        "personas.ContentPiece",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="touches",
    )
    note = models.TextField(blank=True)
    touched_at = models.DateTimeField()

    class Meta:
        ordering = ["-touched_at", "-id"]
        indexes = [models.Index(fields=["handoff", "touched_at"], name="touch_handoff_time")]

    def __str__(self):
        return f"{self.kind} {self.outcome} by {self.rep_id}"
