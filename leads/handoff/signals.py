from django.dispatch import Signal

# Sent inside the qualification's transaction, after routing, with `handoff` and `now`.
# The SLA listens (it starts the handoff's clocks and sets its due times); leads does not
# import sla, so this is how the dependency stays one-way.
handoff_created = Signal()
