"""Lead data for goal tests, made with the ORM directly (the leads app owns its factories)."""

from datetime import UTC, datetime

from leads.models import Activity, Lead, Stage, StageChange


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def make_leads(n: int, *, created: datetime, prefix: str = "lead") -> list[Lead]:
    stage = Stage.objects.get(slug="lead")
    return Lead.objects.bulk_create(
        Lead(
            email=f"{prefix}{i}-{created:%Y%m%d}@example.com",
            stage=stage,
            stage_entered_at=created,
            created_at=created,
            updated_at=created,
        )
        for i in range(n)
    )


def move(leads, slug: str, *, when: datetime) -> None:
    stage = Stage.objects.get(slug=slug)
    StageChange.objects.bulk_create(
        StageChange(lead=lead, to_stage=stage, changed_at=when) for lead in leads
    )


def page_views(n: int, *, lead: Lead, when: datetime) -> None:
    Activity.objects.bulk_create(
        Activity(lead=lead, type="page_view", occurred_at=when, received_at=when) for _ in range(n)
    )


def november_funnel() -> list[Lead]:
    """The fixture behind the pacing tests (a November 2026 goal, half the month gone):
    170 page views, 40 leads, 12 MQLs (one moved twice), 6 SQLs, 2 won deals (one with a
    deal value of 30,000), plus data outside the window that must not count."""
    leads = make_leads(40, created=at("2026-11-03"))
    page_views(170, lead=leads[0], when=at("2026-11-05"))
    move(leads[:12], "mql", when=at("2026-11-06"))
    move(leads[:1], "mql", when=at("2026-11-07"))  # recycled and back: still one MQL
    move(leads[:6], "sql", when=at("2026-11-10"))
    move(leads[:2], "customer", when=at("2026-11-12"))
    Lead.objects.filter(pk=leads[0].pk).update(attributes={"deal_value": 30000})
    Lead.objects.filter(pk=leads[2].pk).update(attributes={"deal_value": "n/a"})
    # Outside the window: October, and later in November than "now".
    old = make_leads(5, created=at("2026-10-20"), prefix="old")
    page_views(30, lead=old[0], when=at("2026-10-21"))
    move(old, "mql", when=at("2026-10-22"))
    page_views(7, lead=leads[0], when=at("2026-11-20"))
    return leads
