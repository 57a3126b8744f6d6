"""The weekly review both teams meet over: what is working, what is not (breaches, top
rejection reasons, goal pacing), on one page and by email on the agreement's review day."""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from leads.routing.models import SalesTeam
from sla import selectors
from sla.models import ClockStatus, ReviewSent, SlaAgreement, SlaClock
from sla.services import active_agreement
from smarketing.notifications.email import render_email
from smarketing.roles import Role

log = logging.getLogger(__name__)
# The first-touch promise is kept on nearly every lead or it is a problem to talk about.
SLA_MET_GOOD_PCT = 90
MAX_BREACHES_LISTED = 25


@dataclass
class Finding:
    label: str
    value: str
    detail: str


@dataclass
class WeeklyReview:
    first: date
    last: date
    terms: SlaAgreement
    sales: dict
    marketing: dict
    breaches: list[SlaClock]
    breach_count: int
    goal: object | None = None
    goal_figures: object | None = None
    working: list[Finding] = field(default_factory=list)
    not_working: list[Finding] = field(default_factory=list)

    @property
    def top_reasons(self) -> list[dict]:
        return self.marketing["rejection_reasons"][:3]

    @property
    def url(self) -> str:
        return f"{settings.SITE_URL}{reverse('sla:review')}?week={self.first.isoformat()}"


def review_period(*, today: date) -> tuple[date, date]:
    """The seven days before `today`: the review looks back on the week just ended."""
    return today - timedelta(days=7), today - timedelta(days=1)


def _pct(value) -> str:
    return "—" if value is None else f"{value}%"


def _judge(review: WeeklyReview) -> None:
    """Sort the headline figures into working / not working against the agreed terms."""
    sales, marketing, terms = review.sales, review.marketing, review.terms

    def put(ok: bool | None, finding: Finding) -> None:
        if ok is None:
            return
        (review.working if ok else review.not_working).append(finding)

    within = sales["within_sla_pct"]
    put(
        None if within is None else within >= SLA_MET_GOOD_PCT,
        Finding(
            "First touch within the SLA",
            _pct(within),
            f"{sales['first_touch_met']} met, {sales['first_touch_breached']} breached "
            f"(promise: {terms.first_touch_within_minutes} business minutes)",
        ),
    )
    acceptance = marketing["acceptance_pct"]
    put(
        None if acceptance is None else acceptance >= terms.min_acceptance_percent,
        Finding(
            "Acceptance rate",
            _pct(acceptance),
            f"{marketing['accepted']} accepted, {marketing['rejected']} rejected "
            f"(target: at least {terms.min_acceptance_percent}%)",
        ),
    )
    committed = marketing["mqls_committed"]
    put(
        None if not committed else marketing["mqls_delivered"] >= committed,
        Finding(
            "MQLs delivered",
            f"{marketing['mqls_delivered']} of {committed}",
            marketing["mqls_committed_from"],
        ),
    )
    not_icp = marketing["not_icp_pct"]
    put(
        None if not_icp is None else not_icp <= terms.max_not_icp_percent,
        Finding(
            'Rejected as "not our ICP"',
            _pct(not_icp),
            f"at most {terms.max_not_icp_percent}% agreed",
        ),
    )
    attempts = sales["attempts"]
    put(
        None if attempts["meeting_policy_pct"] is None else attempts["meeting_policy_pct"] >= 50,
        Finding(
            f"Leads with {attempts['min_attempts']}+ attempts",
            _pct(attempts["meeting_policy_pct"]),
            f"{attempts['average']} touches per lead on average",
        ),
    )
    # The stages the SLA is about: visits are recorded for known leads only (see goals) and
    # deals lag weeks behind, so MQLs and SQLs say whether the teams are on pace.
    stages = [
        st
        for st in (review.goal_figures.stages if review.goal_figures else [])
        if st.key in ("mqls", "sqls") and st.pacing_pct is not None
    ]
    if stages:
        worst = min(stages, key=lambda st: st.pacing_pct)
        put(
            worst.pacing_pct >= 100,
            Finding(
                f"Goal pacing ({review.goal})",
                f"{worst.pacing_pct:.0f}%",
                f"{worst.label}: {worst.actual} so far, {worst.target_to_date:.0f} expected by now",
            ),
        )


def weekly_review(*, now: datetime, first: date | None = None) -> WeeklyReview:
    """The review of the seven days from `first` (default: the seven days before today)."""
    from goals.selectors import goal_figures, goal_for_period

    today = timezone.localdate(now)
    if first is None:
        first, last = review_period(today=today)
    else:
        last = first + timedelta(days=6)
    f = selectors.filters_for_days(first, last)
    figures = selectors.compliance(f)
    breached = (
        SlaClock.objects.filter(
            status=ClockStatus.BREACHED, breached_at__gte=f.start, breached_at__lt=f.end
        )
        .select_related("handoff__lead", "owner")
        .order_by("breached_at", "pk")
    )
    goal = goal_for_period(on=min(last, today))
    review = WeeklyReview(
        first=first,
        last=last,
        terms=figures.terms,
        sales=figures.sales,
        marketing=figures.marketing,
        breaches=list(breached[:MAX_BREACHES_LISTED]),
        breach_count=breached.count(),
        goal=goal,
        goal_figures=goal_figures(goal, now=now) if goal else None,
    )
    _judge(review)
    return review


def review_recipients() -> list[str]:
    """Both teams' managers: the manager roles and every sales team's named manager."""
    User = get_user_model()
    managers = User.objects.filter(
        Q(groups__name__in=[Role.MARKETING_MANAGER.value, Role.SALES_MANAGER.value])
        | Q(pk__in=SalesTeam.objects.filter(manager__isnull=False).values("manager")),
        is_active=True,
    ).exclude(email="")
    return sorted(set(managers.values_list("email", flat=True)))


def review_send(*, now: datetime) -> int:
    """Email the review on the agreement's review weekday, once per week. The week's
    ReviewSent row is the claim; a failed send releases it so the next run retries.
    Returns the number of emails sent (0 or 1)."""
    agreement = active_agreement()
    today = timezone.localdate(now)
    if agreement is None or today.isoweekday() != agreement.review_weekday:
        return 0
    week = today - timedelta(days=today.weekday())
    if ReviewSent.objects.filter(week=week, sent_at__isnull=False).exists():
        return 0
    first, last = review_period(today=today)
    recipients = review_recipients()
    row, _ = ReviewSent.objects.get_or_create(
        week=week,
        defaults={
            "period_start": first,
            "period_end": last,
            "agreement": agreement,
            "recipients": recipients,
            "created_at": now,
        },
    )
    if not ReviewSent.objects.filter(pk=row.pk, sent_at__isnull=True).update(sent_at=now):
        return 0  # another run sent it meanwhile
    if not recipients:
        log.warning("The weekly SLA review has no recipients: no manager has an email address.")
        return 0
    review = weekly_review(now=now, first=first)
    try:
        subject, text, html = render_email("sla/review_email", {"review": review})
        message = EmailMultiAlternatives(subject=subject, body=text, to=recipients)
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception:
        ReviewSent.objects.filter(pk=row.pk).update(sent_at=None)
        log.exception("The weekly SLA review of %s could not be sent; retrying later.", first)
        return 0
    ReviewSent.objects.filter(pk=row.pk).update(recipients=recipients)
    return 1
