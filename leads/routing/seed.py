"""Demo routing, set up by Sofia (sales manager) before scoring hands leads over: an Inbound
team sharing leads 2:1 between Dana and Lee, an EMEA pool, big companies to Sofia herself,
and round robin for the rest. Runs once: an existing Inbound team means done."""

from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from leads.routing import services
from leads.routing.models import SalesTeam, TargetKind

EMEA = ["DE", "GB", "NL", "NO", "CH", "FR", "IE", "ES", "IT", "SE", "IL"]


def run(*, now: datetime, stdout) -> None:
    if SalesTeam.objects.filter(name="Inbound").exists():
        return
    users = get_user_model().objects.in_bulk(["dana", "lee", "sofia"], field_name="username")
    if len(users) < 3:
        return
    dana, lee, sofia = users["dana"], users["lee"], users["sofia"]
    at = now - timedelta(days=45)
    with transaction.atomic():
        inbound = services.team_save(
            data={"name": "Inbound", "timezone": "America/New_York", "manager": sofia},
            actor=sofia,
            now=at,
        )
        services.member_save(
            team=inbound,
            data={"user": dana, "weight": 2, "max_open_leads": 40, "active": True},
            actor=sofia,
            now=at,
        )
        services.member_save(
            team=inbound, data={"user": lee, "weight": 1, "active": True}, actor=sofia, now=at
        )
        emea = services.team_save(
            data={"name": "EMEA", "timezone": "Europe/Berlin", "manager": sofia},
            actor=sofia,
            now=at,
        )
        for user in (dana, lee):
            services.member_save(
                team=emea,
                data={
                    "user": user,
                    "weight": 1,
                    "work_days": [1, 2, 3, 4, 5],
                    "work_start": time(8),
                    "work_end": time(18),
                    "active": True,
                },
                actor=sofia,
                now=at,
            )
        services.rule_create(
            data={
                "name": "Enterprise -> Sofia's pick",
                "field": "employees",
                "operator": "gte",
                "value": 5000,
                "target_kind": TargetKind.REP,
                "target_user": sofia,
                "target_team": inbound,
                "active": True,
            },
            actor=sofia,
            now=at,
        )
        services.rule_create(
            data={
                "name": "EMEA to the EMEA pool",
                "countries": EMEA,
                "target_kind": TargetKind.POOL,
                "target_team": emea,
                "active": True,
            },
            actor=sofia,
            now=at,
        )
        services.rule_create(
            data={
                "name": "Everyone else",
                "is_default": True,
                "target_kind": TargetKind.ROUND_ROBIN,
                "target_team": inbound,
                "active": True,
            },
            actor=sofia,
            now=at,
        )
    stdout.write("Routing: Inbound (Dana 2, Lee 1), EMEA pool, enterprise to Sofia, 3 rules")
