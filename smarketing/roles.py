"""Roles are Django groups with permissions. Views and the API check permissions (or, for
"which side of the table are you on", the team) through the helpers here."""

from collections.abc import Iterable
from enum import StrEnum
from functools import wraps

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied


class Role(StrEnum):
    MARKETER = "Marketer"
    MARKETING_MANAGER = "Marketing manager"
    SALES_REP = "Sales rep"
    SALES_MANAGER = "Sales manager"
    ADMIN = "Admin"


class Team(StrEnum):
    MARKETING = "marketing"
    SALES = "sales"


MARKETING_ROLES = frozenset({Role.MARKETER, Role.MARKETING_MANAGER})
SALES_ROLES = frozenset({Role.SALES_REP, Role.SALES_MANAGER})
MANAGER_ROLES = frozenset({Role.MARKETING_MANAGER, Role.SALES_MANAGER})
ALL_ROLES = frozenset(Role)

# Each app adds its permissions here as it lands. A codename whose model does not exist
# yet is skipped by roles_sync, so this list can run ahead of the models.
_VIEW_EVERYTHING = [
    "personas.view_persona",
    "personas.view_contentpiece",
    "leads.view_lead",
    "leads.view_scoringmodel",
    "sla.view_slaagreement",
    "goals.view_funnelgoal",
]
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.MARKETER: [
        *_VIEW_EVERYTHING,
        "personas.add_persona",
        "personas.change_persona",
        "personas.add_contentpiece",
        "personas.change_contentpiece",
        "leads.add_lead",
        "leads.change_lead",
        "leads.import_leads",
        "leads.add_scoringmodel",
        "leads.change_scoringmodel",
    ],
    Role.MARKETING_MANAGER: [
        *_VIEW_EVERYTHING,
        "personas.add_persona",
        "personas.change_persona",
        "personas.delete_persona",
        "personas.sign_off_persona",
        "personas.add_contentpiece",
        "personas.change_contentpiece",
        "personas.delete_contentpiece",
        "leads.add_lead",
        "leads.change_lead",
        "leads.import_leads",
        "leads.erase_lead",
        "leads.add_scoringmodel",
        "leads.change_scoringmodel",
        "leads.sign_off_scoringmodel",
        "sla.change_slaagreement",
        "sla.sign_off_slaagreement",
        "sla.view_compliance",
        "goals.add_funnelgoal",
        "goals.change_funnelgoal",
    ],
    Role.SALES_REP: [
        *_VIEW_EVERYTHING,
        "personas.add_contentpiece",
        "leads.work_queue",
    ],
    Role.SALES_MANAGER: [
        *_VIEW_EVERYTHING,
        "personas.sign_off_persona",
        "personas.add_contentpiece",
        "personas.change_contentpiece",
        "leads.change_lead",
        "leads.work_queue",
        "leads.manage_routing",
        "leads.sign_off_scoringmodel",
        "leads.erase_lead",
        "sla.change_slaagreement",
        "sla.sign_off_slaagreement",
        "sla.view_compliance",
        # Sales keeps the business calendars its SLA clocks run on.
        "sla.add_businesscalendar",
        "sla.change_businesscalendar",
        "goals.add_funnelgoal",
        "goals.change_funnelgoal",
    ],
    Role.ADMIN: [],  # admins are superusers; see roles_sync
}


def roles_sync() -> list[str]:
    """Create the role groups and give each exactly its permissions. Idempotent; returns the
    permissions that were named but do not exist (yet)."""
    missing = []
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        perms = []
        for name in names:
            app_label, codename = name.split(".", 1)
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is None:
                missing.append(name)
            else:
                perms.append(perm)
        group.permissions.set(perms)
    return missing


def user_roles(user) -> frozenset[str]:
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_smarketing_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached |= {Role.ADMIN.value}
        user._smarketing_roles = cached
    return cached


def has_role(user, roles: Iterable[str]) -> bool:
    return bool(user_roles(user) & {str(r) for r in roles})


def user_team(user) -> Team | None:
    """The side of the table a user sits on; admins and outsiders sit on neither."""
    roles = user_roles(user)
    if roles & MARKETING_ROLES:
        return Team.MARKETING
    if roles & SALES_ROLES:
        return Team.SALES
    return None


def is_manager(user) -> bool:
    return user.is_superuser or has_role(user, MANAGER_ROLES)


def role_required(*roles: str):
    """View decorator: the user must hold one of `roles` (superusers always pass)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not (request.user.is_superuser or has_role(request.user, roles)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
