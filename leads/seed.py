"""Demo leads: about 300 believable B2B people across every stage, with stage histories and
engagement over the last 90 days, plus a demo website form. Deterministic (fixed random
seed) and idempotent (a lead whose email exists is left alone). No ingest key is created:
keys are secrets; make one with `manage.py create_ingest_key NAME`."""

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from leads.models import Activity, FormSite, Lead, Seniority, Stage, StageChange

SEED = 20261127
LEAD_COUNT = 300

FIRST = [
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Isla",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Priya",
    "Quentin",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wes",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Anil",
    "Bea",
    "Carlos",
    "Dana",
    "Emil",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Julia",
    "Kofi",
    "Lena",
    "Marco",
    "Nina",
    "Omar",
    "Pia",
    "Rafael",
    "Sara",
    "Tomas",
    "Uma",
    "Victor",
    "Wanda",
]
LAST = [
    "Andersen",
    "Brooks",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Laurent",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmermann",
    "Bauer",
    "Costa",
    "Dias",
    "Evans",
    "Fontaine",
    "Greene",
    "Holm",
    "Iqbal",
    "Jovanovic",
    "Keller",
    "Lindqvist",
]
COMPANIES = [
    # name, domain, industry, employees, revenue (millions), country
    ("Northwind Logistics", "northwind", "Logistics", 1200, 310, "DE"),
    ("Brightline Health", "brightline", "Healthcare", 850, 140, "US"),
    ("Copperleaf Software", "copperleaf", "Software", 240, 38, "GB"),
    ("Delta Fabrication", "deltafab", "Manufacturing", 3100, 720, "US"),
    ("Evergreen Retail", "evergreen", "Retail", 5400, 1100, "NL"),
    ("Fjord Analytics", "fjord", "Software", 60, 7, "NO"),
    ("Granite Insurance", "granite", "Financial services", 2300, 900, "US"),
    ("Harbor City Bank", "harborcity", "Financial services", 7800, 2400, "US"),
    ("Iris Biotech", "irisbio", "Life sciences", 410, 95, "CH"),
    ("Juniper Energy", "juniper", "Energy", 1900, 650, "CA"),
    ("Kestrel Aerospace", "kestrel", "Manufacturing", 4200, 1500, "FR"),
    ("Lumen Education", "lumen", "Education", 150, 12, "IE"),
    ("Meridian Hotels", "meridian", "Hospitality", 2600, 480, "ES"),
    ("Nimbus Cloudworks", "nimbus", "Software", 520, 110, "US"),
    ("Orchard Foods", "orchard", "Consumer goods", 980, 260, "IT"),
    ("Pioneer Telecom", "pioneer", "Telecommunications", 6100, 2100, "SE"),
    ("Quarry Legal", "quarry", "Professional services", 45, 9, "GB"),
    ("Riverbend Media", "riverbend", "Media", 320, 44, "US"),
    ("Summit Construction", "summit", "Construction", 1500, 380, "AU"),
    ("Tidewater Shipping", "tidewater", "Logistics", 700, 190, "SG"),
    ("Upland Agritech", "upland", "Agriculture", 90, 14, "NZ"),
    ("Vantage Consulting", "vantage", "Professional services", 260, 52, "DE"),
    ("Willow Pharma", "willow", "Life sciences", 3300, 1300, "US"),
    ("Xylo Robotics", "xylo", "Manufacturing", 130, 21, "JP"),
    ("Yardline Sports", "yardline", "Consumer goods", 75, 11, "US"),
    ("Zenith Security", "zenith", "Software", 880, 175, "IL"),
]
TITLES = [
    ("Marketing Operations Manager", Seniority.MANAGER, "Marketing"),
    ("VP Marketing", Seniority.VP, "Marketing"),
    ("Head of Demand Generation", Seniority.DIRECTOR, "Marketing"),
    ("Sales Director", Seniority.DIRECTOR, "Sales"),
    ("Chief Revenue Officer", Seniority.C_LEVEL, "Sales"),
    ("Revenue Operations Analyst", Seniority.INDIVIDUAL, "Operations"),
    ("CTO", Seniority.C_LEVEL, "Engineering"),
    ("IT Manager", Seniority.MANAGER, "IT"),
    ("Founder & CEO", Seniority.OWNER, "Executive"),
    ("Growth Marketer", Seniority.INDIVIDUAL, "Marketing"),
    ("Procurement Lead", Seniority.MANAGER, "Procurement"),
    ("Customer Success Manager", Seniority.MANAGER, "Customer success"),
]
SOURCES = [
    ("website", "google", "cpc"),
    ("website", "organic", "search"),
    ("webinar", "webinar", "email"),
    ("trade show", "", ""),
    ("linkedin", "linkedin", "paid_social"),
    ("referral", "", ""),
    ("content", "newsletter", "email"),
]
CAMPAIGNS = ["q4-pipeline-push", "roi-ebook", "alignment-webinar", "spring-launch", "retargeting"]
PAGES = ["/", "/pricing", "/product/scoring", "/product/sla", "/customers", "/blog/mql-vs-sql"]
CONTENT = ["The MQL playbook (e-book)", "SLA template (xlsx)", "Funnel math worksheet", "ROI guide"]
# Target stage -> the path a lead walked to get there (allowed transitions only).
PATHS = {
    "subscriber": [["subscriber"]],
    "lead": [["lead"]],
    "mql": [["lead", "mql"]],
    "sal": [["lead", "mql", "sal"]],
    "sql": [["lead", "mql", "sal", "sql"]],
    "opportunity": [["lead", "mql", "sal", "sql", "opportunity"]],
    "customer": [["lead", "mql", "sal", "sql", "opportunity", "customer"]],
    "recycled": [["lead", "mql", "recycled"], ["lead", "mql", "sal", "recycled"]],
    "disqualified": [["lead", "disqualified"], ["lead", "mql", "sal", "disqualified"]],
}
STAGE_MIX = {
    "subscriber": 30,
    "lead": 115,
    "mql": 40,
    "sal": 25,
    "sql": 20,
    "opportunity": 15,
    "customer": 20,
    "recycled": 20,
    "disqualified": 15,
}
ENGAGEMENT = {"subscriber": (1, 2), "lead": (1, 4), "disqualified": (1, 4)}


def run(*, now: datetime, stdout) -> None:
    rng = random.Random(SEED)
    now = now.replace(microsecond=0)
    stages = {s.slug: s for s in Stage.objects.all()}
    User = get_user_model()
    reps = list(User.objects.filter(username__in=["dana", "lee"]).order_by("username"))
    marketer = User.objects.filter(username="mia").first()
    with transaction.atomic():
        FormSite.objects.get_or_create(
            site_key="demo-website",
            defaults={
                "name": "Demo website",
                "allowed_origins": ["http://127.0.0.1:8000", "http://localhost:8000"],
                "source": "website form",
                "created_at": now,
            },
        )
        plan = _plan(rng, now)
        existing = set(
            Lead.objects.filter(email__in=[p["lead"]["email"] for p in plan]).values_list(
                "email", flat=True
            )
        )
        todo = [p for p in plan if p["lead"]["email"] not in existing]
        leads = Lead.objects.bulk_create(
            [
                Lead(
                    **p["lead"],
                    stage=stages[p["path"][-1][0]],
                    stage_entered_at=p["path"][-1][1],
                    owner=rng_owner(p, reps),
                    updated_at=now,
                )
                for p in todo
            ]
        )
        changes, activities = [], []
        for lead, p in zip(leads, todo, strict=True):
            previous = None
            for slug, at in p["path"]:
                by_person = previous is not None and slug in ("sal", "sql", "recycled")
                changes.append(
                    StageChange(
                        lead=lead,
                        from_stage=stages[previous] if previous else None,
                        to_stage=stages[slug],
                        changed_by=(lead.owner if by_person else None)
                        or (marketer if slug == "disqualified" else None),
                        rule="" if by_person else ("created" if previous is None else "demo data"),
                        reason=p["reasons"].get(slug, ""),
                        changed_at=at,
                    )
                )
                previous = slug
            activities += [
                Activity(lead=lead, received_at=a["occurred_at"], **a) for a in p["activities"]
            ]
        StageChange.objects.bulk_create(changes, batch_size=500)
        Activity.objects.bulk_create(activities, batch_size=500, ignore_conflicts=True)
    stdout.write(
        f"leads: {len(leads)} demo leads created ({len(existing)} already there), "
        f"{len(activities)} activities, demo form site key 'demo-website'."
    )


def rng_owner(plan_item: dict, reps: list):
    if not reps or plan_item["owner_index"] is None:
        return None
    return reps[plan_item["owner_index"] % len(reps)]


def _plan(rng: random.Random, now: datetime) -> list[dict]:
    """Everything random is drawn here, in a fixed order, whether or not the lead will be
    created, so that a second run sees exactly the same people."""
    targets = [slug for slug, n in STAGE_MIX.items() for _ in range(n)][:LEAD_COUNT]
    rng.shuffle(targets)
    plan = []
    used_emails: set[str] = set()
    for i, target in enumerate(targets):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company, domain, industry, employees, revenue, country = rng.choice(COMPANIES)
        email = f"{first}.{last}@{domain}.example".lower()
        if email in used_emails:
            email = f"{first}.{last}{i}@{domain}.example".lower()
        used_emails.add(email)
        title, seniority, department = rng.choice(TITLES)
        source, utm_source, utm_medium = rng.choice(SOURCES)
        created = now - timedelta(days=rng.uniform(2, 90))
        path_slugs = rng.choice(PATHS[target])
        # Spread the moves between creation and a little before now.
        span = (now - created) * 0.9
        cuts = sorted(rng.uniform(0, 1) for _ in path_slugs[1:])
        path = [(path_slugs[0], created)] + [
            (slug, created + span * c) for slug, c in zip(path_slugs[1:], cuts, strict=True)
        ]
        fit = rng.randint(5, 50)
        low, high = ENGAGEMENT.get(target, (4, 12))
        n_events = rng.randint(low, high)
        unsubscribed = target in ("lead", "recycled") and rng.random() < 0.08
        events = []
        for j in range(n_events):
            kind = rng.choices(
                ["page_view", "email_open", "email_click", "content_download", "webinar_attended",
                 "demo_request"],
                weights=[40, 25, 12, 12, 6, 3 if target in ("lead", "subscriber") else 12],
            )[0]  # fmt: skip
            props = {"campaign": rng.choice(CAMPAIGNS)}
            if kind in ("page_view", "demo_request"):
                props["url"] = f"https://www.smarketing-demo.example{rng.choice(PAGES)}"
            if kind == "content_download":
                props["content"] = rng.choice(CONTENT)
            events.append(
                {
                    "type": kind,
                    "occurred_at": created + (now - created) * rng.uniform(0, 1),
                    "properties": props,
                    "source": "website" if kind in ("page_view", "demo_request") else "email",
                    "event_id": f"seed-{i}-{j}",
                }
            )
        if unsubscribed:
            events.append(
                {
                    "type": "unsubscribe",
                    "occurred_at": now - timedelta(days=rng.uniform(0, 1)),
                    "properties": {"campaign": rng.choice(CAMPAIGNS)},
                    "source": "email",
                    "event_id": f"seed-{i}-unsub",
                }
            )
        engagement = min(
            50, sum(3 if e["type"] in ("page_view", "email_open") else 8 for e in events)
        )
        plan.append(
            {
                "lead": {
                    "email": email,
                    "first_name": first,
                    "last_name": last,
                    "title": title,
                    "seniority": seniority,
                    "department": department,
                    "phone": f"+1 555 01{i:03d}" if rng.random() < 0.6 else "",
                    "company": company,
                    "website": f"https://www.{domain}.example",
                    "industry": industry,
                    "employees": employees,
                    "annual_revenue": Decimal(revenue) * 1_000_000,
                    "country": country,
                    "source": source,
                    "utm_source": utm_source,
                    "utm_medium": utm_medium,
                    "utm_campaign": rng.choice(CAMPAIGNS) if utm_source else "",
                    "do_not_email": unsubscribed,
                    "do_not_call": rng.random() < 0.05,
                    "fit_score": fit,
                    "engagement_score": engagement,
                    "score": fit + engagement,
                    "created_at": created,
                },
                "path": path,
                "activities": events,
                "owner_index": i
                if path_slugs[-1] in ("sal", "sql", "opportunity", "customer")
                or "sal" in path_slugs
                else None,
                "reasons": {
                    "recycled": "No budget this quarter; revisit in Q2",
                    "disqualified": rng.choice(["Student", "Competitor", "Wrong country"]),
                    "sql": "Budget confirmed, evaluation started",
                },
            }
        )
    return plan
