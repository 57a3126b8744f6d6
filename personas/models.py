"""Personas: the written, two-team answer to "whom do we sell to?", plus the content we
have for each persona at each buyer stage.

A persona's criteria drive the fit engine (`personas.fit`); its worksheet is the discovery
work both teams did together. Content of a persona is agreed only when one Marketing and
one Sales user signed the *current version*; editing after a sign-off starts a new version,
so a signature always belongs to the exact text that was signed.
"""

from django.conf import settings
from django.db import models


class PersonaStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_SIGN_OFF = "awaiting_sign_off", "Awaiting sign-off"
    AGREED = "agreed", "Agreed"


class SignOffTeam(models.TextChoices):
    # Same values as smarketing.roles.Team, kept as choices for the database.
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"


class Persona(models.Model):
    name = models.CharField(max_length=120, unique=True)
    summary = models.TextField(blank=True, help_text="One or two sentences anyone can repeat.")
    fit_threshold = models.PositiveSmallIntegerField(
        default=60, help_text="A lead matches this persona when its fit (0-100) is at least this."
    )
    # The discovery worksheet, filled in during the joint workshop.
    goals = models.TextField(blank=True)
    pains = models.TextField(blank=True)
    objections = models.TextField(blank=True)
    buying_triggers = models.TextField(blank=True)
    information_sources = models.TextField(blank=True, help_text="Where they look for information.")
    preferred_content = models.TextField(blank=True)
    disqualifiers = models.TextField(blank=True)

    status = models.CharField(
        max_length=20, choices=PersonaStatus.choices, default=PersonaStatus.DRAFT
    )
    version = models.PositiveIntegerField(default=1)
    agreed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    WORKSHEET_FIELDS = (
        "goals",
        "pains",
        "objections",
        "buying_triggers",
        "information_sources",
        "preferred_content",
        "disqualifiers",
    )

    class Meta:
        ordering = ["name"]
        permissions = [("sign_off_persona", "Can sign off a persona for their team")]

    def __str__(self):
        return self.name

    @property
    def is_agreed(self) -> bool:
        return self.status == PersonaStatus.AGREED

    def worksheet(self) -> list[tuple[str, str, str]]:
        """(field, label, answer) for each worksheet question, in workshop order."""
        return [
            (name, str(self._meta.get_field(name).verbose_name).capitalize(), getattr(self, name))
            for name in self.WORKSHEET_FIELDS
        ]


class CriterionKind(models.TextChoices):
    FIRMOGRAPHIC = "firmographic", "Firmographic"
    DEMOGRAPHIC = "demographic", "Demographic"
    CUSTOM = "custom", "Custom attribute"


class Operator(models.TextChoices):
    EQUALS = "equals", "equals"
    IN = "in", "is one of"
    NOT_IN = "not_in", "is none of"
    CONTAINS = "contains", "contains any keyword"
    BETWEEN = "between", "is between"
    GTE = "gte", "is at least"
    LTE = "lte", "is at most"
    IS_EMPTY = "is_empty", "is empty"
    IS_NOT_EMPTY = "is_not_empty", "is not empty"


class PersonaCriterion(models.Model):
    """One rule of a persona: `field` (a lead field, or a custom attribute name when kind is
    custom) `operator` `value`, worth `weight` points of the fit."""

    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="criteria")
    kind = models.CharField(max_length=20, choices=CriterionKind.choices)
    field = models.CharField(max_length=100)
    operator = models.CharField(max_length=20, choices=Operator.choices)
    value = models.JSONField(null=True, blank=True)
    weight = models.PositiveSmallIntegerField(default=1)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "persona criteria"

    def __str__(self):
        from personas.criteria import describe_criterion

        return describe_criterion(self)


class PersonaVersion(models.Model):
    """A snapshot of a persona as it stood at one version, what changed from the previous
    one, and (through PersonaSignOff) who signed it."""

    persona = models.ForeignKey(
        Persona, on_delete=models.CASCADE, related_name="versions", db_index=False
    )
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    changes = models.JSONField(default=list, help_text="Plain-words list of what changed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    agreed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["persona", "number"], name="personaversion_unique")
        ]

    def __str__(self):
        return f"{self.persona_id} v{self.number}"


class PersonaSignOff(models.Model):
    """One team's signature on one version. Never deleted: an edit starts a new version
    instead, which is what "clears the sign-offs" means here."""

    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="sign_offs")
    version = models.ForeignKey(
        PersonaVersion, on_delete=models.CASCADE, related_name="sign_offs", db_index=False
    )
    team = models.CharField(max_length=20, choices=SignOffTeam.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["signed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "team"], name="personasignoff_one_per_team")
        ]

    def __str__(self):
        return f"{self.team} signed v{self.version_id} of persona {self.persona_id}"


class BuyerStage(models.TextChoices):
    AWARENESS = "awareness", "Awareness"
    CONSIDERATION = "consideration", "Consideration"
    DECISION = "decision", "Decision"


class ContentFormat(models.TextChoices):
    BLOG_POST = "blog_post", "Blog post"
    EBOOK = "ebook", "E-book / guide"
    WHITEPAPER = "whitepaper", "Whitepaper"
    CASE_STUDY = "case_study", "Case study"
    WEBINAR = "webinar", "Webinar"
    VIDEO = "video", "Video"
    ONE_PAGER = "one_pager", "One-pager"
    EMAIL_TEMPLATE = "email_template", "Email template"
    DECK = "deck", "Slide deck"
    CALCULATOR = "calculator", "ROI calculator / tool"
    CHECKLIST = "checklist", "Checklist / template"
    OTHER = "other", "Other"


class ContentPiece(models.Model):
    """Something we can send or point a buyer to. Touches cite it (by id), so we can see
    which content shows up in won deals."""

    title = models.CharField(max_length=200)
    url = models.URLField(max_length=500, blank=True)
    format = models.CharField(max_length=20, choices=ContentFormat.choices)
    personas = models.ManyToManyField(Persona, related_name="content", blank=True)
    stage = models.CharField(max_length=20, choices=BuyerStage.choices)
    authored_by_team = models.CharField(max_length=20, choices=SignOffTeam.choices)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["stage"], name="contentpiece_stage")]

    def __str__(self):
        return self.title


class QuestionStatus(models.TextChoices):
    OPEN = "open", "Open"
    ANSWERED = "answered", "Turned into content"
    DISMISSED = "dismissed", "Dismissed"


class ProspectQuestion(models.Model):
    """ "What prospects ask about": a note from Sales that Marketing turns into content."""

    question = models.CharField(max_length=300)
    context = models.TextField(blank=True, help_text="Who asked, in what deal, how often.")
    persona = models.ForeignKey(
        Persona, on_delete=models.SET_NULL, null=True, blank=True, related_name="questions"
    )
    stage = models.CharField(max_length=20, choices=BuyerStage.choices, blank=True)
    status = models.CharField(
        max_length=20, choices=QuestionStatus.choices, default=QuestionStatus.OPEN
    )
    answered_by = models.ForeignKey(
        ContentPiece,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="answers_questions",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField()
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]

    def __str__(self):
        return self.question
