import importlib

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from smarketing.seed import DEMO_PASSWORD, DEMO_USERS, seed_users

# Dependency order: leads read personas; sla and goals read leads.
APPS = ["personas", "leads", "leads.routing", "leads.scoring", "leads.handoff", "sla", "goals"]


class Command(BaseCommand):
    help = "Create (or refresh) deterministic demo data. Safe to run again."

    def handle(self, *args, **options):
        now = timezone.now()
        with transaction.atomic():
            seed_users()
        for app in APPS:
            try:
                module = importlib.import_module(f"{app}.seed")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.seed":
                    raise
                continue
            module.run(now=now, stdout=self.stdout)
        names = ", ".join(f"{u} ({r})" for u, _, _, r in DEMO_USERS)
        self.stdout.write(self.style.SUCCESS(f"Demo users (password {DEMO_PASSWORD}): {names}"))
