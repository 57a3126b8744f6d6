from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class StageKind(models.TextChoices):
    NURTURE = "nurture", "Nurture"
    MQL = "mql", "Marketing qualified"
    SAL = "sal", "Sales accepted"
    SQL = "sql", "Sales qualified"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    RECYCLED = "recycled", "Recycled"
    DISQUALIFIED = "disqualified", "Disqualified"


class Stage(models.Model):
    """A lifecycle stage. Stages are data: teams may rename or add them; `kind` is what the
    code relies on."""

    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=20, choices=StageKind.choices)
    order = models.PositiveSmallIntegerField(default=0)
    allowed_next = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="allowed_previous"
    )

    class Meta:
        ordering = ["order", "id"]

    def __str__(self):
        return self.name


class Seniority(models.TextChoices):
    UNKNOWN = "", "Unknown"
    INDIVIDUAL = "individual", "Individual contributor"
    MANAGER = "manager", "Manager"
    DIRECTOR = "director", "Director"
    VP = "vp", "VP"
    C_LEVEL = "c_level", "C-level"
    OWNER = "owner", "Owner / founder"


class Lead(models.Model):
    email = models.EmailField(max_length=254, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=200, blank=True)
    seniority = models.CharField(max_length=20, choices=Seniority.choices, blank=True)
    department = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    company = models.CharField(max_length=200, blank=True)
    website = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    region = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=100, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    do_not_email = models.BooleanField(default=False)
    do_not_call = models.BooleanField(default=False)
    attributes = models.JSONField(default=dict, blank=True)
    # db_index=False on a foreign key here and below: a composite index in Meta leads with
    # the column, so the single-column one would only cost every insert and update.
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="leads", db_index=False)
    stage_entered_at = models.DateTimeField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_leads",
    )
    fit_score = models.IntegerField(default=0)
    engagement_score = models.IntegerField(default=0)
    score = models.IntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # Set when the lead's personal data was erased; the row stays so that history, counts
    # and funnel figures remain true.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="lead_email_unique_ci",
                condition=~models.Q(email=""),
            ),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                name="lead_external_id_unique_per_source",
                condition=~models.Q(external_id=""),
            ),
        ]
        permissions = [
            ("import_leads", "Can import leads from CSV"),
            ("erase_lead", "Can erase a lead's personal data"),
            ("work_queue", "Can work the sales queue"),
            ("manage_routing", "Can edit routing rules"),
        ]
        indexes = [
            models.Index(fields=["stage", "-score"], name="lead_stage_score"),
            models.Index(fields=["-created_at"], name="lead_created"),
            models.Index(fields=["-score", "-id"], name="lead_score"),
            models.Index(fields=["source"], name="lead_source"),
        ]

    def __str__(self):
        return self.full_name or self.email or self.external_id or f"Lead {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def can_be_emailed(self) -> bool:
        return bool(self.email) and not self.do_not_email and not self.is_erased

    @property
    def can_be_called(self) -> bool:
        return bool(self.phone) and not self.do_not_call and not self.is_erased


class StageChange(models.Model):
    """One row per lifecycle move: the full, append-only history of a lead's stages."""

    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="stage_changes", db_index=False
    )
    from_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", db_index=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    rule = models.CharField(
        max_length=200, blank=True, help_text="The rule or system that moved the lead, if no user."
    )
    reason = models.TextField(blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [
            models.Index(fields=["lead", "changed_at"], name="stagechange_lead_time"),
            models.Index(fields=["to_stage", "changed_at"], name="stagechange_to_time"),
        ]

    def __str__(self):
        return f"{self.lead_id}: {self.from_stage_id} -> {self.to_stage_id}"


class ActivityType(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    FORM_SUBMIT = "form_submit", "Form submitted"
    EMAIL_OPEN = "email_open", "Email opened"
    EMAIL_CLICK = "email_click", "Email clicked"
    CONTENT_DOWNLOAD = "content_download", "Content downloaded"
    WEBINAR_ATTENDED = "webinar_attended", "Webinar attended"
    DEMO_REQUEST = "demo_request", "Demo requested"
    MEETING_BOOKED = "meeting_booked", "Meeting booked"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
    EMAIL_BOUNCE = "email_bounce", "Email bounced"


class Activity(models.Model):
    """An engagement event. `type` is one of ActivityType or any custom name; `event_id`,
    supplied by the sender, makes ingestion idempotent."""

    # Looked up through activity_lead_time, which leads with the lead.
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    type = models.CharField(max_length=60)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=100, blank=True)
    event_id = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id"],
                name="activity_event_id_unique",
                condition=~models.Q(event_id=""),
            ),
        ]
        indexes = [
            models.Index(fields=["lead", "occurred_at"], name="activity_lead_time"),
            models.Index(fields=["type", "occurred_at"], name="activity_type_time"),
        ]

    def __str__(self):
        return f"{self.type} by lead {self.lead_id} at {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def type_label(self) -> str:
        return ActivityType(self.type).label if self.type in ActivityType.values else self.type


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", "Waiting for column mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One CSV import: the uploaded file, the column mapping the user confirmed, progress
    counters the progress bar polls, and per-row errors for download."""

    file = models.FileField(upload_to="imports/")
    original_name = models.CharField(max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=100, blank=True, help_text="Source given to new leads.")
    status = models.CharField(
        max_length=20, choices=ImportStatus.choices, default=ImportStatus.MAPPING
    )
    encoding = models.CharField(max_length=40, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=dict, blank=True, help_text="CSV header -> lead field")
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{row, field, message}]")
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Import {self.pk}: {self.original_name}"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class FormSite(models.Model):
    """A website whose forms post straight to us (no key in the page: the site key is
    public). Origin checks, a honeypot field and a per-IP rate limit keep the noise out."""

    name = models.CharField(max_length=100)
    site_key = models.CharField(max_length=64, unique=True)
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text='Origins allowed to post, e.g. ["https://www.example.com"]. Empty: any.',
    )
    honeypot_field = models.CharField(
        max_length=60,
        default="contact_me_by_fax",
        help_text="A hidden field people leave empty; a filled one marks a bot.",
    )
    rate_limit_per_minute = models.PositiveIntegerField(default=10)
    source = models.CharField(max_length=100, default="website form")
    redirect_url = models.URLField(
        blank=True, help_text="Where a plain HTML form post is sent after success."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def origin_allowed(self, origin: str) -> bool:
        if not self.allowed_origins:
            return True
        return origin.rstrip("/").lower() in {o.rstrip("/").lower() for o in self.allowed_origins}


# Scoring, routing and the handoff live in sub-packages; importing them here registers their
# models in this app.
from leads.handoff.models import Handoff, RoutingDecision, Touch  # noqa: E402, F401
from leads.routing.models import RoutingRule, SalesTeam, TeamMember  # noqa: E402, F401
from leads.scoring.models import (  # noqa: E402, F401
    LeadScore,
    RescoreJob,
    ScoringBacklog,
    ScoringModel,
    ScoringModelEvent,
    ScoringRule,
    ScoringSignOff,
)
