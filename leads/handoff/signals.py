from django.dispatch import Signal

# Sent inside the qualification's transaction, after routing, with `handoffs` (the new
# handoffs, one or a rescore's batch), `now` and `fresh` (True: nothing was started for them
# yet). The SLA listens (it starts their clocks and sets their due times); leads does not
# import sla, so this is how the dependency stays one-way.
handoffs_created = Signal()
