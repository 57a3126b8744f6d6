def start_clocks(sender, *, handoffs, now, fresh=False, **kwargs):
    from sla.services import clocks_start_many

    clocks_start_many(handoffs=handoffs, now=now, fresh=fresh)
