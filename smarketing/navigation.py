"""The navigation bar: which pages each role sees. The pages themselves check permissions;
this only decides what is worth showing to whom."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from smarketing.roles import ALL_ROLES, MANAGER_ROLES, MARKETING_ROLES, SALES_ROLES, Role, has_role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str]  # empty = every signed-in user, even one without a role


_STAFF = frozenset({Role.ADMIN})
NAV_ITEMS = [
    NavItem("Dashboard", "home", frozenset()),
    NavItem("Personas", "personas:list", ALL_ROLES),
    NavItem("Content", "personas:content", ALL_ROLES),
    NavItem("Leads", "leads:list", MARKETING_ROLES | {Role.SALES_MANAGER} | _STAFF),
    # Everyone may read the definition of a lead; only Marketing edits it.
    NavItem("Scoring", "leads:scoring", ALL_ROLES),
    NavItem("Queue", "leads:queue", SALES_ROLES | _STAFF),
    NavItem("Routing", "leads:routing", frozenset({Role.SALES_MANAGER}) | _STAFF),
    # Marketing learns from what Sales sends back; managers on both sides review it.
    NavItem("Rejections", "leads:rejections", MARKETING_ROLES | MANAGER_ROLES | _STAFF),
    NavItem("SLA", "sla:dashboard", ALL_ROLES),
    NavItem("Goals", "goals:list", MARKETING_ROLES | MANAGER_ROLES | _STAFF),
]
NAV_BY_URL_NAME = {item.url_name: item for item in NAV_ITEMS}


def can_see(user, item: NavItem) -> bool:
    return not item.roles or user.is_superuser or has_role(user, item.roles)


def nav_for(user, current_path: str) -> list[dict]:
    items = []
    for item in NAV_ITEMS:
        if not can_see(user, item):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"label": item.label, "url": url, "active": False})
    # Only the most specific page is current: /leads/scoring/ is Scoring, not Leads.
    matches = [
        i
        for i in items
        if current_path == i["url"] or (i["url"] != "/" and current_path.startswith(i["url"]))
    ]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["active"] = True
    return items
