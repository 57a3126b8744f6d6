import importlib

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _default_stages(sender, **kwargs):
    """Migration 0003 seeds the lifecycle stages; a flush (tests, `manage.py flush`) empties
    the table and re-sends post_migrate, so put them back when there are none at all. A team
    that edited its stages keeps them: we only fill an empty table."""
    if sender.name != "leads":
        return
    from django.apps import apps

    from leads.models import Stage

    if not Stage.objects.exists():
        importlib.import_module("leads.migrations.0003_seed_stages").seed(apps, None)


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self):
        post_migrate.connect(_default_stages, sender=self, dispatch_uid="leads.default_stages")
