"""Demo users, one or more per role. Every app adds its own demo data in `<app>/seed.py`
with a `run(*, now, stdout)` function; `seed_demo` calls them in dependency order."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from smarketing.roles import Role, roles_sync

DEMO_PASSWORD = "demo1234"  # noqa: S105 - printed in the README on purpose; demo data only

DEMO_USERS = [
    # username, first, last, role
    ("mia", "Mia", "Chen", Role.MARKETER),
    ("marcus", "Marcus", "Webb", Role.MARKETING_MANAGER),
    ("dana", "Dana", "Ruiz", Role.SALES_REP),
    ("lee", "Lee", "Park", Role.SALES_REP),
    ("sofia", "Sofia", "Patel", Role.SALES_MANAGER),
    ("admin", "Alex", "Admin", Role.ADMIN),
]


def seed_users() -> dict[str, object]:
    roles_sync()
    User = get_user_model()
    users = {}
    for username, first, last, role in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@demo.smarketing.local",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
        user.is_staff = user.is_superuser = role == Role.ADMIN
        user.save()
        user.groups.set([Group.objects.get(name=role.value)])
        users[username] = user
    return users
