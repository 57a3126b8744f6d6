"""Deterministic benchmark data, streamed into PostgreSQL with COPY.

At BENCH_SCALE=1.0: 1,000,000 leads, 10,000,000 activities over a year with a Pareto
per-lead distribution (a few leads do most of the clicking), 3 agreed personas, an active
scoring model with the demo's rules, 200 reps in 10 teams, 50,000 handoffs with touches
and SLA clocks. Every row comes from `random.Random(<fixed seed>)` and a fixed end date,
so two runs at one scale produce the same database.

`python -m bench.generate` builds the `smarketing_bench` database (drop, create, migrate,
load, ANALYZE) unless it already holds this scale; `--force` rebuilds. `populate()` loads
into whatever database Django is connected to (the smoke test uses the test database).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from array import array
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import ROOT, bench_env, database_url, django_setup, scale

GENERATOR_VERSION = 2
SEED = 20261127
# Fixed so the data does not depend on the day it was made; the year of activity ends here.
END = datetime(2026, 11, 23, tzinfo=UTC)
START = END - timedelta(days=365)
YEAR_SECONDS = 365 * 86400
LEADS_AT_FULL = 1_000_000
ACTIVITIES_AT_FULL = 10_000_000
HANDOFFS_AT_FULL = 50_000
TEAMS, REPS = 10, 200
# Drop and rebuild secondary indexes around a load only when it is big enough to pay off.
REBUILD_INDEXES_FROM = 20_000
NULL = "\\N"  # COPY's text-format NULL
LOADED_TABLES = (
    "leads_lead",
    "leads_activity",
    "leads_stagechange",
    "leads_handoff",
    "leads_touch",
    "sla_slaclock",
)

FIRST = [
    "Ada",
    "Ben",
    "Cleo",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jo",
    "Kai",
    "Lia",
    "Max",
    "Nia",
    "Oto",
    "Pia",
    "Quinn",
    "Rui",
    "Sia",
    "Tom",
]
LAST = [
    "Smith",
    "Chen",
    "Garcia",
    "Muller",
    "Rossi",
    "Kim",
    "Novak",
    "Silva",
    "Okafor",
    "Tanaka",
    "Berg",
    "Dubois",
    "Khan",
]
INDUSTRIES = [
    "Software",
    "Financial Services",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Education",
    "Logistics",
    "Media",
]
COUNTRIES = [
    ("US", "CA"),
    ("US", "NY"),
    ("DE", "BY"),
    ("GB", ""),
    ("FR", ""),
    ("NL", ""),
    ("IN", ""),
]
SENIORITIES = ["", "individual", "manager", "director", "vp", "c_level", "owner"]
SENIORITY_WEIGHTS = [20, 35, 22, 12, 6, 3, 2]
TITLES = {
    "": ["", "Consultant"],
    "individual": ["Marketing Specialist", "Engineer", "Analyst", "Student", "Intern"],
    "manager": ["Marketing Manager", "Engineering Manager", "Sales Manager"],
    "director": ["Director of Marketing", "Director of IT"],
    "vp": ["VP Marketing", "VP Sales"],
    "c_level": ["CMO", "CTO", "CEO"],
    "owner": ["Founder", "Owner"],
}
DEPARTMENTS = ["Marketing", "Sales", "IT", "Operations", "Finance", ""]
SOURCES = ["website", "webinar", "paid search", "partner", "import", "event"]
ACTIVITY_TYPES = [
    "page_view",
    "email_open",
    "email_click",
    "content_download",
    "form_submit",
    "webinar_attended",
    "demo_request",
    "meeting_booked",
    "unsubscribe",
    "email_bounce",
]
ACTIVITY_WEIGHTS = [560, 200, 90, 60, 40, 25, 8, 5, 4, 8]
PAGES = ["/", "/blog/", "/features", "/pricing", "/customers", "/docs", "/about"]
PAGE_WEIGHTS = [30, 25, 15, 8, 10, 10, 2]
HANDOFF_STATUSES = ["pool", "assigned", "accepted", "rejected", "qualified", "disqualified"]
HANDOFF_WEIGHTS = [20, 10, 30, 10, 20, 10]
# Stage of the lead for each handoff status (slugs seeded by the leads migrations).
STAGE_FOR_STATUS = {
    "pool": "mql",
    "assigned": "mql",
    "accepted": "sal",
    "rejected": "recycled",
    "qualified": "sql",
    "disqualified": "disqualified",
}


def sizes(at_scale: float) -> dict[str, int]:
    return {
        "leads": max(50, round(LEADS_AT_FULL * at_scale)),
        "activities": max(200, round(ACTIVITIES_AT_FULL * at_scale)),
        "handoffs": max(20, round(HANDOFFS_AT_FULL * at_scale)),
        "reps": REPS,
        "teams": TEAMS,
    }


# --- COPY plumbing -------------------------------------------------------------------------


def _esc(value: str) -> str:
    """Text-format COPY escaping for the few free-text values that could need it."""
    return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


class LineStream:
    """A file-like object over generated lines: copy_expert pulls from it while PostgreSQL
    parses what it already received, so generation and loading overlap on two cores."""

    def __init__(self, lines: Iterator[str]):
        self.lines = lines
        self.buffer = ""

    def read(self, size: int = -1) -> str:
        parts = [self.buffer]
        have = len(self.buffer)
        for line in self.lines:
            parts.append(line)
            have += len(line)
            if 0 < size <= have:
                break
        data = "".join(parts)
        if size > 0 and len(data) > size:
            self.buffer = data[size:]
            return data[:size]
        self.buffer = ""
        return data

    readline = read


def copy_rows(cursor, table: str, columns: tuple[str, ...], lines: Iterator[str]) -> None:
    cursor.copy_expert(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN", LineStream(lines), size=1 << 18
    )


class Clock:
    """Timestamps as text, cached per minute: formatting ten million datetimes is what
    would otherwise dominate the load."""

    def __init__(self):
        self.minutes: dict[int, str] = {}
        self.seconds = [f"{s:02d}" for s in range(60)]

    def at(self, offset: int) -> str:
        """Seconds since START, as a timestamptz literal."""
        minute, second = divmod(offset, 60)
        text = self.minutes.get(minute)
        if text is None:
            text = (START + timedelta(minutes=minute)).strftime("%Y-%m-%d %H:%M:")
            self.minutes[minute] = text
        return f"{text}{self.seconds[second]}+00"


# --- the load ------------------------------------------------------------------------------


def _max_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
    return cursor.fetchone()[0]


def _secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """Indexes of `table` that back no constraint: safe to drop and rebuild around a load."""
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        """,
        [table],
    )
    return cursor.fetchall()


def _reference_data(now: datetime, log: Callable[[str], None]) -> dict[str, Any]:
    """Users, teams, personas, the scoring model and the SLA: few rows, made with the ORM
    so that they carry the same defaults and permissions as real ones."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from leads.models import Stage
    from leads.routing.models import SalesTeam, TeamMember
    from leads.scoring.models import ModelStatus, ScoringModel, ScoringRule
    from leads.scoring.seed import ENGAGEMENT_RULES, FIT_RULES
    from personas.models import Persona, PersonaCriterion, PersonaStatus
    from sla.models import AgreementStatus, SlaAgreement
    from smarketing.roles import Role, roles_sync

    User = get_user_model()
    roles_sync()
    password = make_password("bench-password")
    groups = {g.name: g for g in Group.objects.all()}
    specs = [("bench_admin", Role.ADMIN), ("bench_marketer", Role.MARKETING_MANAGER)]
    specs += [(f"bench_manager{t:02d}", Role.SALES_MANAGER) for t in range(TEAMS)]
    specs += [(f"bench_rep{r:03d}", Role.SALES_REP) for r in range(REPS)]
    existing = set(
        User.objects.filter(username__startswith="bench_").values_list("username", flat=True)
    )
    User.objects.bulk_create(
        [
            User(
                username=name,
                password=password,
                email=f"{name}@bench.smarketing.local",
                first_name=name.split("_")[1].rstrip("0123456789").capitalize(),
                last_name=name[-3:],
                is_staff=role == Role.ADMIN,
                is_superuser=role == Role.ADMIN,
                date_joined=now,
            )
            for name, role in specs
            if name not in existing
        ]
    )
    users = User.objects.in_bulk([name for name, _ in specs], field_name="username")
    Through = User.groups.through
    Through.objects.filter(user_id__in=[u.pk for u in users.values()]).delete()
    Through.objects.bulk_create(
        [Through(user_id=users[name].pk, group_id=groups[role.value].pk) for name, role in specs]
    )
    teams = []
    for t in range(TEAMS):
        team, _ = SalesTeam.objects.get_or_create(
            name=f"Bench team {t:02d}", defaults={"manager": users[f"bench_manager{t:02d}"]}
        )
        teams.append(team)
    TeamMember.objects.filter(team__in=teams).delete()
    reps_by_team: list[list[int]] = [[] for _ in range(TEAMS)]
    members = []
    for r in range(REPS):
        team_index = r % TEAMS
        user = users[f"bench_rep{r:03d}"]
        reps_by_team[team_index].append(user.pk)
        members.append(TeamMember(team=teams[team_index], user=user, weight=1 + r % 3))
    TeamMember.objects.bulk_create(members)

    personas = [
        ("Bench: mid-market marketing lead", "Marketing", ["Software", "Media"], [100, 5000]),
        ("Bench: enterprise IT buyer", "IT", ["Financial Services", "Healthcare"], [1000, 100000]),
        ("Bench: operations owner", "Operations", ["Manufacturing", "Logistics"], [50, 2000]),
    ]
    for name, department, industries, employees in personas:
        persona, created = Persona.objects.get_or_create(
            name=name,
            defaults={
                "summary": f"{department} decision makers in {', '.join(industries)}.",
                "status": PersonaStatus.AGREED,
                "agreed_at": now,
                "created_at": now,
                "updated_at": now,
            },
        )
        if created:
            PersonaCriterion.objects.bulk_create(
                [
                    PersonaCriterion(
                        persona=persona,
                        kind="firmographic",
                        field="industry",
                        operator="in",
                        value=industries,
                        weight=3,
                        position=0,
                    ),
                    PersonaCriterion(
                        persona=persona,
                        kind="firmographic",
                        field="employees",
                        operator="between",
                        value=employees,
                        weight=2,
                        position=1,
                    ),
                    PersonaCriterion(
                        persona=persona,
                        kind="demographic",
                        field="department",
                        operator="equals",
                        value=department,
                        weight=2,
                        position=2,
                    ),
                    PersonaCriterion(
                        persona=persona,
                        kind="demographic",
                        field="seniority",
                        operator="in",
                        value=["director", "vp", "c_level", "owner"],
                        weight=2,
                        position=3,
                    ),
                ]
            )

    # Routing: each persona's leads round-robin in a team of their own, the rest in team 0,
    # so a qualification notifies one rep (not every rep of a pool).
    from leads.routing.models import RoutingRule, TargetKind

    if not RoutingRule.objects.filter(name__startswith="Bench").exists():
        rules = [
            RoutingRule(
                name=f"Bench: {persona.name}",
                order=index,
                persona=persona,
                target_kind=TargetKind.ROUND_ROBIN,
                target_team=teams[index + 1],
                updated_at=now,
            )
            for index, persona in enumerate(Persona.objects.filter(name__startswith="Bench"))
        ]
        rules.append(
            RoutingRule(
                name="Bench default",
                order=100,
                is_default=not RoutingRule.objects.filter(is_default=True, active=True).exists(),
                target_kind=TargetKind.ROUND_ROBIN,
                target_team=teams[0],
                updated_at=now,
            )
        )
        RoutingRule.objects.bulk_create(rules)

    model = ScoringModel.objects.filter(status=ModelStatus.ACTIVE).first()
    if model is None:
        version = (
            ScoringModel.objects.order_by("-version").values_list("version", flat=True).first() or 0
        ) + 1
        model = ScoringModel.objects.create(
            name="Bench: persona fit plus intent",
            version=version,
            status=ModelStatus.ACTIVE,
            min_fit=30,
            min_engagement=20,
            require_agreed_persona=True,
            min_persona_fit=50,
            hand_raisers=["demo_request", "meeting_booked"],
            created_at=now,
            proposed_at=now,
            activated_at=now,
        )
        ScoringRule.objects.bulk_create(
            [
                ScoringRule(model=model, order=i, **rule)
                for i, rule in enumerate(FIT_RULES + ENGAGEMENT_RULES)
            ]
        )
    agreement = SlaAgreement.objects.filter(status=AgreementStatus.ACTIVE).first()
    if agreement is None:
        version = (
            SlaAgreement.objects.order_by("-version").values_list("version", flat=True).first() or 0
        ) + 1
        agreement = SlaAgreement.objects.create(
            version=version, status=AgreementStatus.ACTIVE, created_at=now, activated_at=now
        )
    log(f"reference data: {len(users)} users, {TEAMS} teams, 3 personas, model v{model.version}")
    return {
        "stages": dict(Stage.objects.values_list("slug", "id")),
        "teams": [t.pk for t in teams],
        "reps_by_team": reps_by_team,
        "model_id": model.pk,
        "model_version": model.version,
        "agreement_id": agreement.pk,
        "admin_id": users["bench_admin"].pk,
    }


def populate(*, at_scale: float, log: Callable[[str], None] = print, rebuild_indexes=None) -> dict:
    """Load the benchmark data into the database Django is connected to. Returns what was
    made and how long each step took."""
    from django.db import connection, transaction

    n = sizes(at_scale)
    rebuild = n["leads"] >= REBUILD_INDEXES_FROM if rebuild_indexes is None else rebuild_indexes
    rng = random.Random(SEED)
    clock = Clock()
    timings: dict[str, float] = {}
    started = time.monotonic()
    with transaction.atomic():
        ref = _reference_data(END, log)
    stages = ref["stages"]

    with connection.cursor() as cur:
        # The generator writes consistent foreign keys itself; skipping the per-row FK
        # triggers is most of what makes COPY fast (needs a superuser, as here).
        cur.execute("SET session_replication_role = replica")
        cur.execute("SET maintenance_work_mem = '256MB'")
        dropped: list[tuple[str, str]] = []
        if rebuild:
            for table in LOADED_TABLES:
                for name, definition in _secondary_indexes(cur, table):
                    cur.execute(f'DROP INDEX "{name}"')
                    dropped.append((name, definition))
        base = {t: _max_id(cur, t) for t in LOADED_TABLES}

        # Leads.
        t0 = time.monotonic()
        lead_created = array("i")
        handoff_leads = set(rng.sample(range(n["leads"]), n["handoffs"]))
        handoff_picks = {}
        # Pareto weights give the skew: the top 1% of leads carry about a fifth of all activity.
        weights = [min(rng.paretovariate(1.16), 2000.0) for _ in range(n["leads"])]
        total_weight = sum(weights)
        per_lead = array("i", (int(w * n["activities"] / total_weight) for w in weights))
        short = n["activities"] - sum(per_lead)
        for i in rng.sample(range(n["leads"]), min(short, n["leads"])) if short > 0 else []:
            per_lead[i] += 1
        del weights

        def lead_lines() -> Iterator[str]:
            nurture = [stages["subscriber"], stages["lead"]]
            for i in range(n["leads"]):
                lead_id = base["leads_lead"] + i + 1
                created = rng.randrange(YEAR_SECONDS - 86400)
                lead_created.append(created)
                seniority = rng.choices(SENIORITIES, SENIORITY_WEIGHTS)[0]
                title = rng.choice(TITLES[seniority])
                country, region = rng.choice(COUNTRIES)
                company_no = int(rng.paretovariate(0.9)) % 60000
                industry = INDUSTRIES[company_no % len(INDUSTRIES)]
                employees = (company_no * 7919) % 20000 + 1
                source = SOURCES[i % len(SOURCES)]
                if i in handoff_leads:
                    status = rng.choices(HANDOFF_STATUSES, HANDOFF_WEIGHTS)[0]
                    team_index = rng.randrange(TEAMS)
                    owner = (
                        "" if status == "pool" else str(rng.choice(ref["reps_by_team"][team_index]))
                    )
                    handoff_picks[lead_id] = (status, team_index, owner)
                    stage = stages[STAGE_FOR_STATUS[status]]
                else:
                    owner = "\\N"
                    stage = nurture[i % 7 == 0]
                score = int(rng.betavariate(2, 5) * 100)
                ts = clock.at(created)
                yield (
                    f"{lead_id}\tlead{lead_id}@c{company_no}.example.com\t\t"
                    f"{FIRST[i % len(FIRST)]}\t{LAST[(i // 7) % len(LAST)]}\t{title}\t{seniority}\t"
                    f"{DEPARTMENTS[i % len(DEPARTMENTS)]}\t+1 555 {i:07d}\tCompany {company_no}\t"
                    f"c{company_no}.example.com\t{industry}\t{employees}\t{employees * 150000}\t"
                    f"{country}\t{region}\t{source}\tbench\tcpc\tq{1 + created // 7884000}\t\t\t"
                    f"{'t' if i % 97 == 0 else 'f'}\tf\t{{}}\t{stage}\t{ts}\t"
                    f"{owner or NULL}\t{score // 2}\t{score - score // 2}\t{score}\t"
                    f"{ts}\t{ts}\t\\N\n"
                )

        copy_rows(
            cur,
            "leads_lead",
            (
                "id",
                "email",
                "external_id",
                "first_name",
                "last_name",
                "title",
                "seniority",
                "department",
                "phone",
                "company",
                "website",
                "industry",
                "employees",
                "annual_revenue",
                "country",
                "region",
                "source",
                "utm_source",
                "utm_medium",
                "utm_campaign",
                "utm_term",
                "utm_content",
                "do_not_email",
                "do_not_call",
                "attributes",
                "stage_id",
                "stage_entered_at",
                "owner_id",
                "fit_score",
                "engagement_score",
                "score",
                "created_at",
                "updated_at",
                "erased_at",
            ),
            lead_lines(),
        )
        timings["leads"] = time.monotonic() - t0
        log(f"leads: {n['leads']:,} in {timings['leads']:.1f} s")

        # Activities: each lead's share of the year's events, after the lead appeared.
        t0 = time.monotonic()
        activity_count = [0]

        def activity_lines() -> Iterator[str]:
            aid = base["leads_activity"]
            choices, randrange, random_ = rng.choices, rng.randrange, rng.random
            props_page = {p: json.dumps({"url": p}) for p in PAGES}
            for i in range(n["leads"]):
                count = per_lead[i]
                if not count:
                    continue
                lead_id = base["leads_lead"] + i + 1
                created = lead_created[i]
                span = YEAR_SECONDS - created
                kinds = choices(ACTIVITY_TYPES, ACTIVITY_WEIGHTS, k=count)
                for kind in kinds:
                    aid += 1
                    # Recent events are more likely than old ones (squared uniform).
                    at = clock.at(YEAR_SECONDS - 1 - int(span * random_() ** 2))
                    if kind == "page_view":
                        props = props_page[choices(PAGES, PAGE_WEIGHTS)[0]]
                        source = "website"
                    elif kind == "content_download":
                        props = f'{{"asset": "guide-{randrange(40)}"}}'
                        source = "website"
                    else:
                        props = "{}"
                        source = "email" if kind.startswith("email") else "marketing"
                    yield f"{aid}\t{lead_id}\t{kind}\t{at}\t{at}\t{props}\t{source}\tg{aid}\n"
            activity_count[0] = aid - base["leads_activity"]

        copy_rows(
            cur,
            "leads_activity",
            (
                "id",
                "lead_id",
                "type",
                "occurred_at",
                "received_at",
                "properties",
                "source",
                "event_id",
            ),
            activity_lines(),
        )
        timings["activities"] = time.monotonic() - t0
        log(f"activities: {activity_count[0]:,} in {timings['activities']:.1f} s")

        # Stage history, handoffs, touches and SLA clocks.
        t0 = time.monotonic()
        change_lines: list[str] = []
        handoff_lines: list[str] = []
        touch_lines: list[str] = []
        clock_lines: list[str] = []
        sc_id, h_id, t_id, c_id = (
            base["leads_stagechange"],
            base["leads_handoff"],
            base["leads_touch"],
            base["sla_slaclock"],
        )
        for i in range(n["leads"]):
            lead_id = base["leads_lead"] + i + 1
            sc_id += 1
            created = lead_created[i]
            to_stage = stages["subscriber"] if i % 7 == 0 else stages["lead"]
            change_lines.append(
                f"{sc_id}\t{lead_id}\t\\N\t{to_stage}\t\\N\tbench import\t\t{clock.at(created)}\n"
            )
        for lead_id, (status, team_index, owner) in sorted(handoff_picks.items()):
            i = lead_id - base["leads_lead"] - 1
            created = lead_created[i] + rng.randrange(3600, 86400)
            created = min(created, YEAR_SECONDS - 120)
            sc_id += 1
            qualification = sc_id
            change_lines.append(
                f"{sc_id}\t{lead_id}\t{stages['lead']}\t{stages['mql']}\t\\N\t"
                f"Scoring model v{ref['model_version']}\tcrossed the MQL line\t"
                f"{clock.at(created)}\n"
            )
            team = ref["teams"][team_index]
            assigned = created + rng.randrange(60, 7200)
            accepted = assigned + rng.randrange(60, 7200)
            touched = accepted + rng.randrange(60, 4 * 3600)
            closed = touched + rng.randrange(86400, 20 * 86400)
            at = lambda s: clock.at(min(s, YEAR_SECONDS - 1))  # noqa: E731
            na = "\\N"
            assigned_at = na if status == "pool" else at(assigned)
            accepted_at = (
                at(accepted) if status in ("accepted", "qualified", "disqualified") else na
            )
            first_touch_at = at(touched) if accepted_at != na else na
            closed_at = at(closed) if status in ("rejected", "qualified", "disqualified") else na
            reject_reason = "not_icp" if status == "rejected" else ""
            if status not in ("pool", "assigned"):
                sc_id += 1
                change_lines.append(
                    f"{sc_id}\t{lead_id}\t{stages['mql']}\t{stages[STAGE_FOR_STATUS[status]]}\t"
                    f"{owner}\t\tbench\t{at(accepted if status != 'rejected' else assigned)}\n"
                )
            n_touches = rng.randrange(1, 7) if owner and status != "assigned" else 0
            h_id += 1
            handoff_lines.append(
                f"{h_id}\t{lead_id}\t{qualification}\t{ref['model_id']}\t{{}}\t"
                f"Crossed the MQL line\t{status}\t{team}\t{owner or na}\t{at(created)}\t"
                f"{at(created + 3600)}\t{at(created + 300)}\t{at(created)}\t{assigned_at}\t"
                f"{accepted_at}\t{first_touch_at}\t{closed_at}\t{reject_reason}\t\t"
                f"{stages[STAGE_FOR_STATUS[status]]}\t{SOURCES[i % len(SOURCES)]}\t{n_touches}\n"
            )
            for kind, due in (("accept", 3600), ("first_touch", 300)):
                c_id += 1
                met = accepted if kind == "accept" else touched
                if status == "pool":
                    clock_status, met_at, breached_at = "on_track", na, na
                elif status == "assigned":
                    clock_status, met_at, breached_at = "at_risk", na, na
                elif met <= created + due:
                    clock_status, met_at, breached_at = "met", at(met), na
                else:
                    clock_status, met_at, breached_at = "breached", at(met), at(created + due)
                clock_lines.append(
                    f"{c_id}\t{h_id}\t{ref['agreement_id']}\t{kind}\t{clock_status}\t"
                    f"{owner or na}\t{at(created)}\t{at(created)}\t{at(created + due * 3 // 4)}\t"
                    f"{at(created + due)}\t{met_at}\t{breached_at}\t{at(created + due)}\n"
                )
            for k in range(n_touches):
                t_id += 1
                kind = ("call", "email", "call", "meeting")[k % 4]
                outcome = ("no_answer", "voicemail", "connected")[rng.randrange(3)]
                touch_lines.append(
                    f"{t_id}\t{h_id}\t{lead_id}\t{owner}\t{kind}\t{outcome}\t\t"
                    f"{at(touched + k * 86400)}\n"
                )
        copy_rows(
            cur,
            "leads_stagechange",
            (
                "id",
                "lead_id",
                "from_stage_id",
                "to_stage_id",
                "changed_by_id",
                "rule",
                "reason",
                "changed_at",
            ),
            iter(change_lines),
        )
        copy_rows(
            cur,
            "leads_handoff",
            (
                "id",
                "lead_id",
                "qualification_id",
                "scoring_model_id",
                "score",
                "why",
                "status",
                "team_id",
                "owner_id",
                "created_at",
                "accept_due_at",
                "first_touch_due_at",
                "notified_at",
                "assigned_at",
                "accepted_at",
                "first_touch_at",
                "closed_at",
                "reject_reason",
                "reject_note",
                "lead_stage_id",
                "source",
                "touch_count",
            ),
            iter(handoff_lines),
        )
        copy_rows(
            cur,
            "sla_slaclock",
            (
                "id",
                "handoff_id",
                "agreement_id",
                "kind",
                "status",
                "owner_id",
                "started_at",
                "handoff_created_at",
                "warn_at",
                "due_at",
                "met_at",
                "breached_at",
                "next_check_at",
            ),
            iter(clock_lines),
        )
        copy_rows(
            cur,
            "leads_touch",
            ("id", "handoff_id", "lead_id", "rep_id", "kind", "outcome", "note", "touched_at"),
            iter(touch_lines),
        )
        timings["handoffs"] = time.monotonic() - t0
        log(
            f"history: {len(change_lines):,} stage changes, {len(handoff_lines):,} handoffs, "
            f"{len(touch_lines):,} touches, {len(clock_lines):,} SLA clocks in "
            f"{timings['handoffs']:.1f} s"
        )

        t0 = time.monotonic()
        for _name, definition in dropped:
            cur.execute(definition)
        timings["indexes"] = time.monotonic() - t0
        if dropped:
            log(f"indexes: {len(dropped)} rebuilt in {timings['indexes']:.1f} s")
        for table in LOADED_TABLES:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST((SELECT MAX(id) FROM {table}), 1))"
            )
        cur.execute("SET session_replication_role = DEFAULT")
    made = {
        "leads": n["leads"],
        "activities": activity_count[0],
        "stage_changes": len(change_lines),
        "handoffs": len(handoff_lines),
        "touches": len(touch_lines),
        "sla_clocks": len(clock_lines),
        "reps": REPS,
        "teams": TEAMS,
        "top_1pct_activity_share": _top_share(per_lead),
        "model_id": ref["model_id"],
        "seconds": {k: round(v, 1) for k, v in timings.items()},
    }
    made["seconds"]["total"] = round(time.monotonic() - started, 1)
    return made


def _top_share(per_lead: array) -> float:
    ordered = sorted(per_lead, reverse=True)
    top = ordered[: max(1, len(ordered) // 100)]
    return round(sum(top) / max(1, sum(ordered)), 3)


# --- the bench database ---------------------------------------------------------------------


def _admin_connect():
    import psycopg2

    conn = psycopg2.connect(database_url("postgres"))
    conn.autocommit = True
    return conn


def stored_meta() -> dict | None:
    """What the bench database holds, or None when it is missing or half-built."""
    import psycopg2

    try:
        conn = psycopg2.connect(database_url())
    except psycopg2.OperationalError:
        return None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('bench_meta')")
            if cur.fetchone()[0] is None:
                return None
            cur.execute("SELECT value FROM bench_meta WHERE key = 'generated'")
            row = cur.fetchone()
            return json.loads(row[0]) if row else None
    finally:
        conn.close()


def ensure(*, at_scale: float, force: bool = False, log: Callable[[str], None] = print) -> dict:
    """Make the bench database hold exactly this scale; skip the work when it already does."""
    meta = stored_meta()
    if (
        not force
        and meta
        and meta.get("scale") == at_scale
        and meta.get("version") == GENERATOR_VERSION
    ):
        log(f"bench database already holds scale {at_scale}; not regenerating")
        return meta
    from bench.common import BENCH_DB

    admin = _admin_connect()
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            [BENCH_DB],
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
        cur.execute(f'CREATE DATABASE "{BENCH_DB}"')
    admin.close()
    t0 = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        check=True,
        env=bench_env(),
        cwd=ROOT,
    )
    log(f"migrated in {time.monotonic() - t0:.1f} s")
    django_setup()
    from django.db import connection

    made = populate(at_scale=at_scale, log=log)
    t0 = time.monotonic()
    with connection.cursor() as cur:
        cur.execute("VACUUM (ANALYZE)")
        meta = {"scale": at_scale, "version": GENERATOR_VERSION, "seed": SEED, **made}
        meta["seconds"]["vacuum_analyze"] = round(time.monotonic() - t0, 1)
        cur.execute("CREATE TABLE bench_meta (key text PRIMARY KEY, value text NOT NULL)")
        cur.execute(
            "INSERT INTO bench_meta VALUES ('generated', %s)", [json.dumps(meta, sort_keys=True)]
        )
    log(f"vacuum analyze in {meta['seconds']['vacuum_analyze']:.1f} s")
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=None, help="default: $BENCH_SCALE or 0.1")
    parser.add_argument("--force", action="store_true", help="rebuild even if the scale matches")
    args = parser.parse_args()
    meta = ensure(at_scale=args.scale if args.scale is not None else scale(), force=args.force)
    print(json.dumps(meta, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
