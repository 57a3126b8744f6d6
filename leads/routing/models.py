"""Sales teams and routing: who gets a lead that just qualified, and why.

Imported by leads/models.py so Django registers these models in the leads app."""

from django.conf import settings
from django.db import models


class SalesTeam(models.Model):
    name = models.CharField(max_length=120, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    timezone = models.CharField(max_length=64, default="UTC")
    webhooks = models.ManyToManyField(
        "smarketing.WebhookEndpoint",
        blank=True,
        related_name="teams",
        help_text="Where this team's handoffs are also posted.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TeamMember(models.Model):
    """A rep in a team, with what weighted round robin needs to know."""

    team = models.ForeignKey(
        SalesTeam, on_delete=models.CASCADE, related_name="members", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    weight = models.PositiveSmallIntegerField(
        default=1, help_text="Share of leads relative to the others."
    )
    max_open_leads = models.PositiveIntegerField(
        null=True, blank=True, help_text="No new leads while this many are open. Empty: no cap."
    )
    out_of_office_until = models.DateField(
        null=True, blank=True, help_text="Skipped by round robin up to and including this day."
    )
    # Working hours in the team's time zone; outside them round robin skips the rep.
    work_days = models.JSONField(
        default=list, blank=True, help_text="ISO weekdays 1-7; empty = every day."
    )
    work_start = models.TimeField(null=True, blank=True)
    work_end = models.TimeField(null=True, blank=True)
    # Smooth weighted round robin state (nginx's algorithm); changed under the team's lock.
    rr_current = models.IntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["team", "id"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="teammember_unique")]

    def __str__(self):
        return f"{self.user} in {self.team}"

    @property
    def work_days_label(self) -> str:
        """ "Mon-Fri", "Mon, Wed, Fri" or "every day"."""
        names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        days = sorted(set(self.work_days or []))
        if not days or len(days) == 7:
            return "every day"
        if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
            return f"{names[days[0] - 1]}-{names[days[-1] - 1]}"
        return ", ".join(names[d - 1] for d in days)


class TargetKind(models.TextChoices):
    REP = "rep", "One rep"
    ROUND_ROBIN = "round_robin", "Team, weighted round robin"
    POOL = "pool", "Team's shared claim pool"


class RoutingRule(models.Model):
    """Ordered; the first active rule that matches wins. The default rule matches every lead
    and should come last."""

    name = models.CharField(max_length=120)
    order = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    # Conditions (all given ones must hold).
    persona = models.ForeignKey(
        "personas.Persona", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    countries = models.JSONField(default=list, blank=True, help_text="ISO-2 codes; empty = any.")
    regions = models.JSONField(default=list, blank=True, help_text="Empty = any.")
    field = models.CharField(
        max_length=120, blank=True, help_text="Lead field or attributes.<name>."
    )
    operator = models.CharField(max_length=20, blank=True)
    value = models.JSONField(null=True, blank=True)
    # Target.
    target_kind = models.CharField(max_length=20, choices=TargetKind.choices)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target_team = models.ForeignKey(
        SalesTeam, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["is_default", "order", "id"]

    def __str__(self):
        return self.name


class RoutingChange(models.Model):
    """History of the routing set-up: every rule or team edit, who made it and what changed,
    so a manager can tell why last week's leads went elsewhere."""

    rule = models.ForeignKey(
        RoutingRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes"
    )
    team = models.ForeignKey(
        SalesTeam, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    summary = models.TextField()
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        return self.summary
