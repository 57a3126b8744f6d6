"""Who may see and set goals. Managers of both sides and admins set them; marketers read
them; sales reps do not see them (the role list gives every role view permissions, so the
team matters too)."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from goals.models import FunnelGoal
from smarketing.roles import MANAGER_ROLES, MARKETING_ROLES, has_role

VIEW_ROLES = MARKETING_ROLES | MANAGER_ROLES


def can_view_goals(user) -> bool:
    if user.is_superuser:
        return True
    return has_role(user, VIEW_ROLES) and user.has_perm("goals.view_funnelgoal")


def can_add_goals(user) -> bool:
    if user.is_superuser:
        return True
    return has_role(user, MANAGER_ROLES) and user.has_perm("goals.add_funnelgoal")


def can_change_goals(user) -> bool:
    if user.is_superuser:
        return True
    return has_role(user, MANAGER_ROLES) and user.has_perm("goals.change_funnelgoal")


def require_view(user) -> None:
    if not can_view_goals(user):
        raise PermissionDenied


def get_goal_for_user(user, pk: int, *, change: bool = False) -> FunnelGoal:
    if not (can_change_goals(user) if change else can_view_goals(user)):
        raise PermissionDenied
    return get_object_or_404(FunnelGoal, pk=pk)
