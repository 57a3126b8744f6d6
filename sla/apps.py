from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "SLA"

    def ready(self):
        # leads tells us about new handoffs through a signal, so that leads never imports sla.
        from leads.handoff.signals import handoffs_creating
        from sla import receivers

        handoffs_creating.connect(receivers.start_clocks, dispatch_uid="sla.start_clocks")
