from django.dispatch import Signal

# Sent inside the qualification's transaction, after routing and before the new handoffs
# are inserted, with `handoffs` (unsaved: one, or a rescore's batch) and `now`. The SLA
# listens: it puts each handoff's due times on it, so every row goes in whole, and returns
# a callable that writes its clocks once the handoffs have their ids. Every callable a
# receiver returns is called right after the insert, in the same transaction. leads does
# not import sla, so this is how the dependency stays one-way.
handoffs_creating = Signal()
