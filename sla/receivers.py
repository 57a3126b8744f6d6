def start_clocks(sender, *, handoffs, now, **kwargs):
    from sla.services import clocks_start_many

    clocks_start_many(handoffs=handoffs, now=now)
