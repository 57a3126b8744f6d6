def start_clocks(sender, *, handoff, now, **kwargs):
    from sla.services import clocks_start

    clocks_start(handoff=handoff, now=now)
