"""Routing: which rep or pool gets a handoff, decided by ordered rules, written to the ledger
with its reason; and the writes managers make to rules and teams."""

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Max

from leads.handoff.models import OPEN_STATUSES, Handoff, HandoffStatus, RoutingDecision
from leads.models import Lead
from leads.routing.models import RoutingChange, RoutingRule, SalesTeam, TargetKind, TeamMember
from leads.scoring.compile import (
    ATTRIBUTE_PREFIX,
    RULE_FIELDS,
    clean_condition,
    condition_description,
    lead_value,
)
from personas.criteria import NUMBER, TEXT
from personas.fit import condition_check
from smarketing.errors import ApplicationError
from smarketing.models import AuditLog

SHARED_POOL = "left in the shared pool for any rep to claim"


def display_name(user) -> str:
    return user.get_full_name() or user.username


# --- matching


def lead_persona_ids(lead_ids: list[int]) -> dict[int, int | None]:
    """Each lead's best persona, as its current score saw it (absent: never scored)."""
    from leads.scoring.models import LeadScore

    return dict(LeadScore.objects.filter(lead_id__in=lead_ids).values_list("lead_id", "persona_id"))


def rule_matches(rule: RoutingRule, lead: Any, *, persona_id: int | None) -> bool:
    """Every condition the rule gives must hold; a default rule matches every lead. A value
    the lead lacks never matches, so an unknown country cannot fall into a territory."""
    if rule.is_default:
        return True
    if rule.persona_id is not None and rule.persona_id != persona_id:
        return False
    if rule.countries:
        country = (lead_value(lead, "country") or "").upper()
        if country not in {c.upper() for c in rule.countries}:
            return False
    if rule.regions:
        region = (lead_value(lead, "region") or "").strip().casefold()
        if region not in {r.strip().casefold() for r in rule.regions}:
            return False
    if rule.field:
        field_type = NUMBER if RULE_FIELDS.get(rule.field, ("", TEXT))[1] == NUMBER else TEXT
        compare = condition_check(
            field_type=field_type, operator=rule.operator, expected=rule.value
        )
        if compare(lead_value(lead, rule.field)) is not True:
            return False
    return True


def rule_conditions(rule: RoutingRule) -> list[str]:
    """The rule's conditions in words, for the rules table and the ledger page."""
    if rule.is_default:
        return ["every lead no earlier rule took"]
    parts = []
    if rule.persona_id is not None:
        parts.append(f"persona is {rule.persona}")
    if rule.countries:
        parts.append(f"country is one of {', '.join(rule.countries)}")
    if rule.regions:
        parts.append(f"region is one of {', '.join(rule.regions)}")
    if rule.field:
        parts.append(condition_description(rule))
    return parts or ["every lead"]


def rule_target(rule: RoutingRule) -> str:
    if rule.target_kind == TargetKind.REP:
        return f"to {display_name(rule.target_user)}" if rule.target_user else "to a missing rep"
    team = rule.target_team.name if rule.target_team else "a missing team"
    if rule.target_kind == TargetKind.ROUND_ROBIN:
        return f"round robin in {team}"
    return f"{team}'s pool"


# --- availability


def team_zone(team: SalesTeam) -> ZoneInfo:
    try:
        return ZoneInfo(team.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _within(moment: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end  # a night shift that crosses midnight


def member_away(member: TeamMember, *, local_now: datetime, open_count: int) -> str | None:
    """Why round robin skips this rep now, or None when they can take a lead. `local_now`
    is in the team's time zone, because "out until Friday" and "9 to 5" mean the team's."""
    if not member.user.is_active:
        return "account disabled"
    if member.out_of_office_until and local_now.date() <= member.out_of_office_until:
        return (
            f"out of office until {member.out_of_office_until:%b} {member.out_of_office_until.day}"
        )
    if member.work_days and local_now.isoweekday() not in member.work_days:
        return f"not a working day ({local_now:%a} in {member.team.timezone})"
    if (
        member.work_start
        and member.work_end
        and not _within(local_now.time(), member.work_start, member.work_end)
    ):
        return (
            f"outside working hours ({member.work_start:%H:%M}-{member.work_end:%H:%M} "
            f"{member.team.timezone}, now {local_now:%H:%M})"
        )
    if member.max_open_leads is not None and open_count >= member.max_open_leads:
        return f"at cap ({open_count} of {member.max_open_leads} open)"
    return None


def open_counts(user_ids: list[int]) -> dict[int, int]:
    rows = (
        Handoff.objects.filter(owner_id__in=user_ids, status__in=OPEN_STATUSES)
        .values("owner_id")
        .annotate(n=Count("id"))
    )
    return {row["owner_id"]: row["n"] for row in rows}


# --- round robin


@dataclass
class Pick:
    member: TeamMember | None
    skipped: list[tuple[TeamMember, str]]


class RoundRobin:
    """One team's smooth weighted round robin (nginx): every available rep's counter grows
    by their weight, the highest counter wins and pays back the sum of the weights. Over any
    window the split follows the weights, without bursts (2:1 gives A B A A B A, not A A B).
    Members and their open counts are read once, so a run of picks (a rescore's chunk of
    qualifications) costs the same queries as one; each pick counts the lead it hands out
    against the rep's cap. The caller holds the team's row lock until `save`, so two
    transactions never read the same counters."""

    def __init__(self, team: SalesTeam, now: datetime):
        self.members = list(
            TeamMember.objects.filter(team=team, active=True, weight__gt=0)
            .select_related("user", "team")
            .order_by("id")
        )
        # Open leads count only against a cap: reps without one cost no query.
        self.counts = open_counts([m.user_id for m in self.members if m.max_open_leads is not None])
        self.local_now = now.astimezone(team_zone(team))
        self.changed = False

    def pick(self) -> Pick:
        available, skipped = [], []
        for member in self.members:
            away = member_away(
                member, local_now=self.local_now, open_count=self.counts.get(member.user_id, 0)
            )
            if away:
                skipped.append((member, away))
            else:
                available.append(member)
        if not available:
            return Pick(member=None, skipped=skipped)
        total = sum(m.weight for m in available)
        for member in available:
            member.rr_current += member.weight
        best = max(available, key=lambda m: m.rr_current)  # the first of equals: stable order
        best.rr_current -= total
        self.counts[best.user_id] = self.counts.get(best.user_id, 0) + 1
        self.changed = True
        return Pick(member=best, skipped=skipped)

    def save(self) -> None:
        if not self.changed:
            return
        self.changed = False
        if connection.vendor != "postgresql":
            TeamMember.objects.bulk_update(self.members, ["rr_current"])
            return
        # One statement for the team's counters (bulk_update spells a CASE per member).
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {TeamMember._meta.db_table} AS m SET rr_current = v.rr "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::integer[]) AS v(id, rr) WHERE m.id = v.id",
                [[m.pk for m in self.members], [m.rr_current for m in self.members]],
            )


# --- routing


def _skips(skipped: list[tuple[TeamMember, str]]) -> str:
    return "".join(f"; {display_name(m.user)} skipped: {why}" for m, why in skipped)


def _rule_label(rule: RoutingRule) -> str:
    return f"default rule {rule.name}" if rule.is_default else f"rule {rule.name}"


@dataclass
class Decision:
    rule: RoutingRule | None
    kind: str
    team: SalesTeam | None
    owner: object | None
    reason: str


class RoutingRun:
    """What routing reads once for any number of decisions in one transaction: the active
    rules, each round-robin team (locked when committing) with its members' counters, and
    the first team of each rep a rule names."""

    def __init__(self, now: datetime, *, commit: bool = True):
        self.now = now
        self.commit = commit
        self.rules = list(
            RoutingRule.objects.filter(active=True).select_related(
                "target_user", "target_team", "persona"
            )
        )
        self.robins: dict[int, tuple[SalesTeam, RoundRobin]] = {}
        self.first_teams: dict[int, SalesTeam | None] = {}

    def robin(self, team_id: int) -> tuple[SalesTeam, RoundRobin]:
        if team_id not in self.robins:
            # The lock serialises concurrent handoffs to one team: each transaction reads the
            # counters the previous one wrote, so no slot is handed out twice and none is lost.
            teams = SalesTeam.objects.select_for_update() if self.commit else SalesTeam.objects
            team = teams.get(pk=team_id)
            self.robins[team_id] = (team, RoundRobin(team, self.now))
        return self.robins[team_id]

    def first_team_of(self, user) -> SalesTeam | None:
        if user.pk not in self.first_teams:
            membership = (
                TeamMember.objects.filter(user=user, active=True).select_related("team").first()
            )
            self.first_teams[user.pk] = membership.team if membership else None
        return self.first_teams[user.pk]

    def decide(self, lead: Any, *, persona_id: int | None) -> Decision:
        rule = next((r for r in self.rules if rule_matches(r, lead, persona_id=persona_id)), None)
        owner = team = None
        if rule is None:
            kind = TargetKind.POOL
            reason = f"No routing rule matched: {SHARED_POOL}"
        elif rule.target_kind == TargetKind.REP:
            kind = TargetKind.REP
            owner = rule.target_user
            if owner is None or not owner.is_active:
                team = rule.target_team
                kind = TargetKind.POOL
                where = f"left in {team.name}'s pool" if team else SHARED_POOL
                reason = f"{_rule_label(rule)} -> its rep is missing or disabled, {where}"
                owner = None
            else:
                team = rule.target_team or self.first_team_of(owner)
                reason = f"{_rule_label(rule)} -> {display_name(owner)}"
        elif rule.target_team is None:
            kind = TargetKind.POOL
            reason = f"{_rule_label(rule)} -> its team no longer exists, {SHARED_POOL}"
        elif rule.target_kind == TargetKind.ROUND_ROBIN:
            team, robin = self.robin(rule.target_team_id)
            pick = robin.pick()
            if pick.member is None:
                kind = TargetKind.POOL
                reason = (
                    f"{_rule_label(rule)} -> round robin -> nobody available, "
                    f"left in {team.name}'s pool{_skips(pick.skipped)}"
                )
            else:
                kind = TargetKind.ROUND_ROBIN
                owner = pick.member.user
                reason = (
                    f"{_rule_label(rule)} -> round robin -> {display_name(owner)}, next in turn"
                    f"{_skips(pick.skipped)}"
                )
        else:
            kind = TargetKind.POOL
            team = rule.target_team
            reason = f"{_rule_label(rule)} -> {team.name}'s pool"
        return Decision(rule=rule, kind=kind, team=team, owner=owner, reason=reason)

    def save(self) -> None:
        if self.commit:
            for _, robin in self.robins.values():
                robin.save()


def decide(*, lead: Lead, now: datetime, commit: bool = True) -> Decision:
    """The first active rule that matches the lead, and where it sends the lead now. With
    `commit` (inside a transaction) round robin takes the team's lock and advances its
    counters; without, it only previews."""
    run = RoutingRun(now, commit=commit)
    decision = run.decide(lead, persona_id=lead_persona_ids([lead.pk]).get(lead.pk))
    run.save()
    return decision


def route_handoffs(
    *, handoffs: list[Handoff], now: datetime, personas: dict[int, int | None] | None = None
) -> list[RoutingDecision]:
    """Decide who gets each of a batch of new handoffs, not yet saved (in order: round robin
    deals them out in turn): the first active rule that matches wins; no rule at all leaves
    it in the shared pool. Sets each handoff's status, team and owner, writes the leads'
    owners and the round-robin counters, and returns the ledger rows that say why, in
    words, for the caller to insert once the handoffs are. A fixed number of statements for
    the whole batch; runs inside the qualification's transaction. `personas`: each lead's
    current persona, when the caller has read it already ({lead id: persona id})."""
    if not handoffs:
        return []
    if personas is None:
        personas = lead_persona_ids([h.lead_id for h in handoffs])
    run = RoutingRun(now)
    ledger, owned = [], []
    for handoff in handoffs:
        decision = run.decide(handoff.lead, persona_id=personas.get(handoff.lead_id))
        handoff.team = decision.team
        handoff.owner = decision.owner
        if decision.owner is not None:
            handoff.status = HandoffStatus.ASSIGNED
            handoff.assigned_at = now
            handoff.lead.owner = decision.owner
            handoff.lead.updated_at = now
            owned.append(handoff.lead)
        else:
            handoff.status = HandoffStatus.POOL
        ledger.append(
            RoutingDecision(
                handoff=handoff,
                rule=decision.rule,
                target_kind=decision.kind,
                team=decision.team,
                assigned_to=decision.owner,
                reason=decision.reason,
                decided_at=now,
            )
        )
    run.save()
    if owned:
        Lead.objects.bulk_update(owned, ["owner", "updated_at"])
    return ledger


def route_handoff(*, handoff: Handoff, now: datetime) -> RoutingDecision:
    """Route one handoff that is already saved (see route_handoffs) and record why."""
    (decision,) = route_handoffs(handoffs=[handoff], now=now)
    handoff.save(update_fields=["status", "team", "owner", "assigned_at"])
    decision.save()
    return decision


# --- managing rules and teams

RULE_FIELDS_EDITABLE = (
    "name",
    "active",
    "is_default",
    "persona",
    "countries",
    "regions",
    "field",
    "operator",
    "value",
    "target_kind",
    "target_user",
    "target_team",
)


def _codes(values: Any, *, upper: bool = False) -> list[str]:
    if isinstance(values, str):
        values = values.split(",")
    items = [str(v).strip() for v in values or [] if str(v).strip()]
    return [v.upper() for v in items] if upper else items


def rule_clean(data: dict[str, Any], *, instance: RoutingRule | None = None) -> dict[str, Any]:
    """Check a rule's input; returns the values to store. Raises ApplicationError with field
    messages."""
    clean = {k: data[k] for k in RULE_FIELDS_EDITABLE if k in data}
    errors: dict[str, list[str]] = {}
    if not (clean.get("name") or "").strip():
        errors["name"] = ["Give the rule a name people will recognise in the ledger."]
    clean["name"] = (clean.get("name") or "").strip()
    clean["countries"] = _codes(clean.get("countries"), upper=True)
    bad = [c for c in clean["countries"] if len(c) != 2 or not c.isalpha()]
    if bad:
        errors["countries"] = [f"Use two-letter country codes (ISO 3166), not {', '.join(bad)}."]
    clean["regions"] = _codes(clean.get("regions"))
    field = (clean.get("field") or "").strip()
    clean["field"] = field
    if field:
        if not field.startswith(ATTRIBUTE_PREFIX) and field not in RULE_FIELDS:
            errors["field"] = [f"Rules cannot read {field!r}."]
        else:
            try:
                clean["value"] = clean_condition(
                    field=field, operator=clean.get("operator") or "", value=clean.get("value")
                )
            except ValidationError as exc:
                errors.update({k: list(v) for k, v in exc.message_dict.items()})
    else:
        clean.update(operator="", value=None)
    kind = clean.get("target_kind")
    if kind not in TargetKind.values:
        errors["target_kind"] = ["Choose where matching leads go."]
    elif kind == TargetKind.REP and not clean.get("target_user"):
        errors["target_user"] = ["Choose the rep who gets these leads."]
    elif kind != TargetKind.REP and not clean.get("target_team"):
        errors["target_team"] = ["Choose the team whose reps share these leads."]
    team = clean.get("target_team")
    if (
        kind == TargetKind.ROUND_ROBIN
        and team
        and not team.members.filter(active=True, weight__gt=0).exists()
    ):
        errors["target_team"] = [
            "This team has no active rep with a weight above 0; add reps first."
        ]
    if clean.get("is_default"):
        has_conditions = (
            clean.get("persona") or clean["countries"] or clean["regions"] or clean["field"]
        )
        if has_conditions:
            errors["is_default"] = [
                "The default rule catches every lead the others leave; remove its conditions."
            ]
        others = RoutingRule.objects.filter(is_default=True, active=True)
        if instance is not None:
            others = others.exclude(pk=instance.pk)
        if clean.get("active", True) and others.exists():
            errors["is_default"] = [
                f"{others.first().name!r} is already the default rule; only one catches the rest."
            ]
    if errors:
        raise ApplicationError("The rule has errors.", extra=errors)
    return clean


def _change(*, actor, now: datetime, summary: str, rule=None, team=None) -> None:
    change = RoutingChange.objects.create(
        rule=rule, team=team, actor=actor, summary=summary, changed_at=now
    )
    AuditLog.record(
        action="routing.change",
        obj=rule or team or change,
        now=now,
        actor=actor,
        details={"summary": summary[:500]},
    )


def rule_create(*, data: dict[str, Any], actor, now: datetime) -> RoutingRule:
    clean = rule_clean(data)
    with transaction.atomic():
        order = (RoutingRule.objects.aggregate(m=Max("order"))["m"] or 0) + 1
        rule = RoutingRule.objects.create(order=order, updated_by=actor, updated_at=now, **clean)
        summary = (
            f"Added rule {rule.name!r}: {'; '.join(rule_conditions(rule))} -> {rule_target(rule)}"
        )
        _change(rule=rule, actor=actor, now=now, summary=summary)
        return rule


def rule_update(*, rule: RoutingRule, data: dict[str, Any], actor, now: datetime) -> RoutingRule:
    merged = {f: getattr(rule, f) for f in RULE_FIELDS_EDITABLE}
    merged.update(data)
    clean = rule_clean(merged, instance=rule)
    before = f"{'; '.join(rule_conditions(rule))} -> {rule_target(rule)}"
    changed = [f for f, v in clean.items() if getattr(rule, f) != v]
    if not changed:
        return rule
    with transaction.atomic():
        for f in changed:
            setattr(rule, f, clean[f])
        rule.updated_by, rule.updated_at = actor, now
        rule.save(update_fields=[*changed, "updated_by", "updated_at"])
        after = f"{'; '.join(rule_conditions(rule))} -> {rule_target(rule)}"
        summary = f"Changed rule {rule.name!r} ({', '.join(changed)})"
        if after != before:
            summary += f": was {before}; now {after}"
        _change(rule=rule, actor=actor, now=now, summary=summary)
        return rule


def rule_set_active(*, rule: RoutingRule, active: bool, actor, now: datetime) -> RoutingRule:
    if rule.active == active:
        return rule
    if active and rule.is_default:
        other = RoutingRule.objects.filter(is_default=True, active=True).exclude(pk=rule.pk).first()
        if other is not None:
            raise ApplicationError(
                f"{other.name!r} is already the default rule; deactivate it first."
            )
    with transaction.atomic():
        rule.active, rule.updated_by, rule.updated_at = active, actor, now
        rule.save(update_fields=["active", "updated_by", "updated_at"])
        verb = "Reactivated" if active else "Deactivated"
        _change(rule=rule, actor=actor, now=now, summary=f"{verb} rule {rule.name!r}")
        return rule


def rule_move(*, rule: RoutingRule, direction: int, actor, now: datetime) -> RoutingRule:
    """Swap the rule with its neighbour above (-1) or below (+1) among the ordered rules. The
    default rule always runs last, so it does not move."""
    if rule.is_default:
        raise ApplicationError("The default rule always runs last.")
    with transaction.atomic():
        ordered = list(RoutingRule.objects.select_for_update().filter(is_default=False))
        index = next(i for i, r in enumerate(ordered) if r.pk == rule.pk)
        target = index + direction
        if not 0 <= target < len(ordered):
            return rule
        ordered[index], ordered[target] = ordered[target], ordered[index]
        for position, row in enumerate(ordered, start=1):
            row.order = position
        RoutingRule.objects.bulk_update(ordered, ["order"])
        moved = ordered[target]
        neighbour = ordered[index]
        where = "above" if direction < 0 else "below"
        _change(
            rule=moved,
            actor=actor,
            now=now,
            summary=f"Moved rule {moved.name!r} {where} {neighbour.name!r} (now #{target + 1})",
        )
        rule.order = moved.order
        return moved


def team_save(
    *, data: dict[str, Any], actor, now: datetime, team: SalesTeam | None = None
) -> SalesTeam:
    try:
        ZoneInfo(data.get("timezone") or "")
    except (ZoneInfoNotFoundError, ValueError):
        raise ApplicationError(
            "Unknown time zone.",
            extra={"timezone": ["Use a time zone name such as Europe/Berlin or America/New_York."]},
        ) from None
    name = (data.get("name") or "").strip()
    clash = SalesTeam.objects.filter(name__iexact=name)
    if team is not None:
        clash = clash.exclude(pk=team.pk)
    if not name or clash.exists():
        raise ApplicationError(
            "The team needs a unique name.",
            extra={"name": ["Another team has this name." if name else "Name the team."]},
        )
    with transaction.atomic():
        if team is None:
            team = SalesTeam.objects.create(
                name=name, timezone=data["timezone"], manager=data.get("manager")
            )
            summary = f"Created team {team.name!r} ({team.timezone})"
        else:
            changed = [
                f for f in ("name", "timezone", "manager") if getattr(team, f) != data.get(f)
            ]
            if not changed:
                return team
            team.name, team.timezone, team.manager = name, data["timezone"], data.get("manager")
            team.save(update_fields=changed)
            summary = f"Changed team {team.name!r} ({', '.join(changed)})"
        _change(team=team, actor=actor, now=now, summary=summary)
        return team


MEMBER_FIELDS = (
    "weight",
    "max_open_leads",
    "out_of_office_until",
    "work_days",
    "work_start",
    "work_end",
    "active",
)


def member_save(
    *,
    team: SalesTeam,
    data: dict[str, Any],
    actor,
    now: datetime,
    member: TeamMember | None = None,
) -> TeamMember:
    """Add a rep to a team or change how round robin treats them."""
    errors: dict[str, list[str]] = {}
    if bool(data.get("work_start")) != bool(data.get("work_end")):
        errors["work_end"] = ["Give both the start and the end of the working day, or neither."]
    days = data.get("work_days") or []
    if any(int(d) not in range(1, 8) for d in days):
        errors["work_days"] = ["Working days are ISO weekdays, 1 (Monday) to 7 (Sunday)."]
    user = data.get("user") if member is None else member.user
    if member is None:
        if user is None:
            errors["user"] = ["Choose the rep."]
        elif TeamMember.objects.filter(team=team, user=user).exists():
            errors["user"] = [f"{display_name(user)} is already in {team.name}."]
    if errors:
        raise ApplicationError("The team member has errors.", extra=errors)
    values = {f: data.get(f) for f in MEMBER_FIELDS if f in data}
    values["work_days"] = sorted({int(d) for d in days})
    with transaction.atomic():
        if member is None:
            # A newcomer starts level with the team instead of owed a backlog of turns.
            member = TeamMember.objects.create(team=team, user=user, rr_current=0, **values)
            summary = f"Added {display_name(user)} to {team.name} (weight {member.weight})"
        else:
            changed = [f for f, v in values.items() if getattr(member, f) != v]
            if not changed:
                return member
            for f in changed:
                setattr(member, f, values[f])
            member.save(update_fields=changed)
            summary = f"Changed {display_name(member.user)} in {team.name} ({', '.join(changed)})"
        _change(team=team, actor=actor, now=now, summary=summary)
        return member


def member_remove(*, member: TeamMember, actor, now: datetime) -> None:
    with transaction.atomic():
        team, name = member.team, display_name(member.user)
        member.delete()
        _change(team=team, actor=actor, now=now, summary=f"Removed {name} from {team.name}")
