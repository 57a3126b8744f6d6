from smarketing.navigation import nav_for
from smarketing.roles import user_roles, user_team


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_items": nav_for(user, request.path),
        "user_roles": sorted(user_roles(user)),
        "user_team": user_team(user),
    }
