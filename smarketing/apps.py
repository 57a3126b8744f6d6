from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs):
    # post_migrate fires once per app, in INSTALLED_APPS order, and each firing creates that
    # app's permissions; only after the last one do all permissions exist.
    if sender is not list(apps.get_app_configs())[-1]:
        return
    from smarketing.roles import roles_sync

    roles_sync()


class SmarketingConfig(AppConfig):
    name = "smarketing"
    verbose_name = "smarketing"

    def ready(self):
        # Groups and their permissions follow the code after every migrate, so a fresh
        # database (and every test database) has the roles without a separate step.
        post_migrate.connect(_sync_roles, dispatch_uid="smarketing.roles_sync")
