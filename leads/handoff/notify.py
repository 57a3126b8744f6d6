"""What a "ready for a call" message says and to whom; the outbox delivers it.

Recipients: the owner when routing assigned one; otherwise everyone who may claim it from
the pool (the team's active members, or every sales rep when no team was chosen). Each
recipient gets an in-app and an email row (turned-off channels are stored as skipped, so
an admin can see why nothing went out), and each active webhook of the team gets one row.
Keys are `handoff:{id}:{channel}:{user or endpoint id}`, so a second run adds nothing."""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import NoReverseMatch, reverse

from leads.handoff.models import Handoff, HandoffStatus
from smarketing.notifications.models import Channel, DeliveryStatus, Notification, WebhookEndpoint
from smarketing.notifications.selectors import channels_for
from smarketing.notifications.services import absolute_url, outbox_row, relay_many_on_commit
from smarketing.roles import Role

KIND = "handoff.ready"
# Only a handoff still waiting for a rep is worth a "ready for a call"; one already
# accepted or closed by the time the task runs needs no message.
NOTIFY_STATUSES = (HandoffStatus.POOL, HandoffStatus.ASSIGNED)


def handoff_notify(
    *, handoff_id: int, now: datetime, due_text: str | None = None
) -> list[Notification]:
    """Create the handoff's outbox rows once each, mark it notified, and let the relay send
    them after commit (see handoffs_notify)."""
    handoff = Handoff.objects.select_related("lead", "team", "owner").filter(pk=handoff_id).first()
    if handoff is None:
        return []
    return handoffs_notify(handoffs=[handoff], now=now, due_text=due_text)


def handoffs_notify(
    *, handoffs: list[Handoff], now: datetime, due_text: str | None = None, fresh: bool = False
) -> list[Notification]:
    """Create the handoffs' outbox rows once each, mark them notified, and let the relay
    send them after commit, with a fixed number of statements however many handoffs there
    are (a rescore qualifies thousands; the drainer a few). The handoffs come with their
    lead, team and owner loaded. The message says when the first call is due: `due_text` if
    given, else the first-touch due time the SLA put on the handoff, in the team's time
    zone; without an SLA it leaves that out. `fresh`: the caller created the handoffs in
    this transaction, already marked notified, so they have no rows yet and need no update.
    Returns the rows, new and earlier ones."""
    handoffs = [h for h in handoffs if h.status in NOTIFY_STATUSES]
    if not handoffs:
        return []
    recipients = _recipients_of(handoffs)
    wanted = channels_for({user.pk for users in recipients.values() for user in users})
    team_ids = {h.team_id for h in handoffs if h.team_id}
    endpoints: dict[int, list] = {team_id: [] for team_id in team_ids}
    if team_ids:
        Through = WebhookEndpoint.teams.through
        for link in (
            Through.objects.filter(salesteam_id__in=team_ids, webhookendpoint__active=True)
            .select_related("webhookendpoint")
            .order_by("webhookendpoint_id")
        ):
            endpoints[link.salesteam_id].append(link.webhookendpoint)
    rows = []
    for handoff in handoffs:
        text = due_text
        if text is None and handoff.first_touch_due_at:
            text = local_due_text(handoff.first_touch_due_at, team=handoff.team, now=now)
        message = handoff_message(handoff, due_text=text)
        for user in recipients[handoff.pk]:
            for channel in (Channel.IN_APP, Channel.EMAIL):
                off = channel not in wanted[user.pk]
                rows.append(
                    outbox_row(
                        kind=KIND,
                        key=f"handoff:{handoff.pk}:{channel}:{user.pk}",
                        channel=channel,
                        recipient=user,
                        now=now,
                        skip_reason="The recipient turned this channel off." if off else "",
                        **message,
                    )
                )
        for endpoint in endpoints.get(handoff.team_id, ()):
            rows.append(
                outbox_row(
                    kind=KIND,
                    key=f"handoff:{handoff.pk}:{Channel.WEBHOOK}:{endpoint.pk}",
                    channel=Channel.WEBHOOK,
                    endpoint=endpoint,
                    now=now,
                    **message,
                )
            )
    with transaction.atomic(savepoint=False):  # a failure rolls back the caller's too
        # A second run adds nothing: rows whose key exists are kept as they are (`fresh`
        # handoffs were created in this transaction, so they have none).
        earlier = {}
        if not fresh:
            earlier = {n.key: n for n in Notification.objects.filter(key__in=[r.key for r in rows])}
        new = [r for r in rows if r.key not in earlier]
        pending = [row for row in new if row.status == DeliveryStatus.PENDING]
        # Before the insert: a task delivering inline inserts them already leased to itself.
        relay_many_on_commit(
            [
                [row for row in pending if row.channel == Channel.WEBHOOK],
                [row for row in pending if row.channel != Channel.WEBHOOK],
            ],
            now=now,
        )
        Notification.objects.bulk_create(new)  # sets each row's pk for the relay
        if not fresh:  # fresh handoffs went in marked notified (see handoffs_create)
            Handoff.objects.filter(pk__in=[h.pk for h in handoffs], notified_at=None).update(
                notified_at=now
            )
    return [earlier.get(r.key, r) for r in rows]


def _recipients_of(handoffs: list[Handoff]) -> dict[int, list]:
    """Each handoff's recipients (see handoff_recipients), reading each team's members and
    the sales reps once."""
    by_team: dict[int | None, list] = {}
    recipients = {}
    for handoff in handoffs:
        if handoff.status == HandoffStatus.ASSIGNED and handoff.owner_id:
            recipients[handoff.pk] = [handoff.owner] if handoff.owner.is_active else []
            continue
        if handoff.team_id not in by_team:
            by_team[handoff.team_id] = handoff_recipients(handoff)
        recipients[handoff.pk] = by_team[handoff.team_id]
    return recipients


def handoff_recipients(handoff: Handoff) -> list:
    User = get_user_model()
    if handoff.status == HandoffStatus.ASSIGNED and handoff.owner_id:
        return [handoff.owner] if handoff.owner.is_active else []
    if handoff.team_id:
        users = User.objects.filter(
            team_memberships__team_id=handoff.team_id,
            team_memberships__active=True,
            is_active=True,
        )
    else:
        users = User.objects.filter(groups__name=Role.SALES_REP.value, is_active=True)
    return list(users.distinct().order_by("pk"))


def local_due_text(due: datetime, *, team, now: datetime) -> str:
    """A due time as the rep reads it: the team's local time, the day only when not today."""
    try:
        zone = ZoneInfo(team.timezone if team else settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = due.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return f"by {local:%H:%M %Z} today"
    return f"by {local:%a %d %b %H:%M %Z}"


def _lead_headline(lead) -> str:
    name = lead.full_name or f"Lead #{lead.pk}"
    if lead.title:
        name += f", {lead.title}"
    if lead.company:
        name += f" at {lead.company}"
    return name


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def handoff_message(handoff: Handoff, *, due_text: str | None = None) -> dict:
    """Title, body, link and the thin payload shared by every channel. The payload goes to
    third parties (webhooks): ids and what a rep needs to pick up the phone, never the
    lead's email address or phone number."""
    lead = handoff.lead
    title = f"Ready for a call: {_lead_headline(lead)}"
    lines = [f"Why it qualified: {handoff.why}"]
    if handoff.status == HandoffStatus.POOL:
        where = f"the {handoff.team.name} pool" if handoff.team else "the shared pool"
        lines.append(f"Waiting in {where}: the first rep to claim it gets it.")
    if due_text:
        lines.append(f"First call due {due_text}.")
    link = _url("leads:detail", lead.pk)
    score = handoff.score or {}
    payload = {
        "handoff_id": handoff.pk,
        "lead_id": lead.pk,
        "lead": {
            "name": lead.full_name,
            "title": lead.title,
            "company": lead.company,
        },
        "why": handoff.why,
        "score": {k: score.get(k) for k in ("fit", "engagement", "total")},
        "status": handoff.status,
        "team": {"id": handoff.team_id, "name": handoff.team.name} if handoff.team else None,
        "owner": (
            {
                "id": handoff.owner_id,
                "name": handoff.owner.get_full_name() or handoff.owner.get_username(),
            }
            if handoff.owner
            else None
        ),
        "first_touch_due_at": (
            handoff.first_touch_due_at.isoformat() if handoff.first_touch_due_at else None
        ),
        "links": {"lead": absolute_url(link), "queue": absolute_url(_url("leads:queue"))},
    }
    return {"title": title, "body": "\n".join(lines), "link": link, "payload": payload}
