def start_clocks(sender, *, handoffs, now, **kwargs):
    """New handoffs, not inserted yet: put their due times on them now, so their rows go in
    whole; the returned callable writes their clocks once the handoffs have ids."""
    from sla.models import SlaClock
    from sla.services import clocks_plan

    clocks = clocks_plan(handoffs=handoffs, now=now)
    return lambda: SlaClock.objects.bulk_create(clocks)
