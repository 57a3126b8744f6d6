"""Demo personas (agreed by both teams, with worksheets) and a content library with a few
deliberate gaps. Idempotent: rows are found by name/title and left alone when present."""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from personas.models import ContentPiece, Persona, ProspectQuestion
from personas.services import (
    content_create,
    persona_create,
    persona_sign_off,
    persona_update,
    question_submit,
)

PERSONAS = [
    {
        "name": "Ops-minded VP Operations",
        "summary": "Runs operations at a mid-market logistics or distribution company and is "
        "measured on on-time delivery and cost per shipment.",
        "fit_threshold": 60,
        "goals": "On-time delivery above 97%.\nCut cost per shipment by 10% this year.\n"
        "One view of carriers, warehouses and exceptions.",
        "pains": "Exceptions are found by customers first.\nData lives in spreadsheets and the "
        "TMS nobody trusts.\nCarrier performance reviews take a week to prepare.",
        "objections": "“We just bought a TMS.”\n“My team has no time for another rollout.”",
        "buying_triggers": "New warehouse or region opening.\nA big customer threatens to "
        "leave over late deliveries.\nNew COO with a cost mandate.",
        "information_sources": "Peers at other shippers, Supply Chain Dive, LinkedIn, the "
        "annual logistics trade fair, analyst briefings.",
        "preferred_content": "Benchmarks, short case studies from similar shippers, ROI "
        "calculators they can take to finance.",
        "disqualifiers": "Fewer than 50 shipments a day.\nFully outsourced logistics (3PL "
        "does everything).",
        "criteria": [
            {
                "field": "title",
                "operator": "contains",
                "weight": 3,
                "value": [
                    "vp operations",
                    "vp of operations",
                    "head of operations",
                    "director of operations",
                    "coo",
                    "vp supply chain",
                    "head of logistics",
                ],
            },
            {
                "field": "industry",
                "operator": "in",
                "weight": 3,
                "value": ["Logistics", "Transportation", "Distribution", "Wholesale"],
            },
            {"field": "employees", "operator": "between", "value": [200, 2000], "weight": 2},
            {
                "field": "seniority",
                "operator": "in",
                "value": ["vp", "director", "c_level"],
                "weight": 1,
            },
            {
                "field": "shipments_per_day",
                "kind": "custom",
                "operator": "gte",
                "value": 50,
                "weight": 1,
            },
        ],
    },
    {
        "name": "Enterprise IT Director",
        "summary": "Owns applications and integrations at a 2,000+ person company; "
        "signs off on anything that touches SSO, data or the ERP.",
        "fit_threshold": 60,
        "goals": "Fewer tools, fewer vendors, fewer tickets.\nPass the next security audit.",
        "pains": "Shadow IT bought by business teams.\nIntegrations that break on every upgrade.",
        "objections": "“Does it support SAML SSO and SCIM?”\n“Where is the data hosted?”",
        "buying_triggers": "ERP migration.\nAudit finding.\nVendor consolidation program.",
        "information_sources": "Gartner, peer communities, vendor security pages, "
        "internal architecture board.",
        "preferred_content": "Security whitepaper, architecture diagrams, integration docs.",
        "disqualifiers": "No central IT (fully outsourced).",
        "criteria": [
            {
                "field": "title",
                "operator": "contains",
                "weight": 3,
                "value": [
                    "it director",
                    "director of it",
                    "head of it",
                    "cio",
                    "director it",
                    "enterprise architect",
                ],
            },
            {"field": "employees", "operator": "gte", "value": 2000, "weight": 3},
            {
                "field": "department",
                "operator": "in",
                "value": ["IT", "Information Technology"],
                "weight": 2,
            },
            {"field": "annual_revenue", "operator": "gte", "value": 250_000_000, "weight": 1},
        ],
    },
    {
        "name": "Startup founder",
        "summary": "Founder or co-founder of a seed-to-series-B company who still buys "
        "tools personally and decides in days.",
        "fit_threshold": 70,
        "goals": "Grow revenue without hiring ahead of plan.\nLook credible to investors.",
        "pains": "No process; every lead lives in someone's inbox.",
        "objections": "“Too expensive for us right now.”\n“We'll build it ourselves.”",
        "buying_triggers": "Just raised a round.\nFirst sales hire.",
        "information_sources": "Founder Slack groups, Hacker News, podcasts, investors.",
        "preferred_content": "Templates, short videos, a free trial.",
        "disqualifiers": "Pre-revenue with no sales motion.",
        "criteria": [
            {
                "field": "title",
                "operator": "contains",
                "weight": 3,
                "value": ["founder", "co-founder", "ceo", "owner"],
            },
            {"field": "employees", "operator": "between", "value": [2, 50], "weight": 2},
            {"field": "seniority", "operator": "in", "value": ["owner", "c_level"], "weight": 1},
        ],
    },
    {
        "name": "RevOps manager",
        "summary": "Runs the CRM and the lead process between Marketing and Sales at a "
        "100-1,000 person B2B company.",
        "fit_threshold": 60,
        "goals": "Clean data and one definition of an MQL.\nReports leadership trusts.",
        "pains": "Leads fall between teams.\nEvery report is argued about.",
        "objections": "“Our CRM can do this with enough workflows.”",
        "buying_triggers": "Missed pipeline target.\nNew CRO or CMO.",
        "information_sources": "RevOps communities, Pavilion, LinkedIn, G2.",
        "preferred_content": "Playbooks, SLA templates, integration guides.",
        "disqualifiers": "No CRM in place.",
        "criteria": [
            {
                "field": "title",
                "operator": "contains",
                "weight": 3,
                "value": [
                    "revops",
                    "revenue operations",
                    "sales operations",
                    "marketing operations",
                    "crm manager",
                ],
            },
            {"field": "employees", "operator": "between", "value": [100, 1000], "weight": 2},
            {
                "field": "crm",
                "kind": "custom",
                "operator": "in",
                "value": ["Salesforce", "HubSpot", "Dynamics"],
                "weight": 1,
            },
        ],
    },
]

# (title, format, stage, personas by name, authored by user, notes). Gaps on purpose:
# the founder has no decision content; the IT director has no awareness content.
CONTENT = [
    (
        "The 2026 on-time delivery benchmark",
        "ebook",
        "awareness",
        ["Ops-minded VP Operations"],
        "mia",
        "",
    ),
    (
        "5 signs your exceptions process is broken",
        "blog_post",
        "awareness",
        ["Ops-minded VP Operations"],
        "mia",
        "",
    ),
    (
        "Carrier scorecard template",
        "checklist",
        "consideration",
        ["Ops-minded VP Operations"],
        "mia",
        "Most downloaded in Q3.",
    ),
    (
        "How Nordfracht cut late deliveries by 40%",
        "case_study",
        "decision",
        ["Ops-minded VP Operations"],
        "mia",
        "",
    ),
    (
        "Cost-per-shipment ROI calculator",
        "calculator",
        "decision",
        ["Ops-minded VP Operations", "RevOps manager"],
        "marcus",
        "",
    ),
    (
        "Security and data residency whitepaper",
        "whitepaper",
        "consideration",
        ["Enterprise IT Director"],
        "marcus",
        "",
    ),
    (
        "Integration architecture overview",
        "deck",
        "consideration",
        ["Enterprise IT Director"],
        "lee",
        "The deck I use in IT deep dives.",
    ),
    ("SSO / SCIM setup guide", "one_pager", "decision", ["Enterprise IT Director"], "mia", ""),
    (
        "From inbox to pipeline: a founder's guide",
        "ebook",
        "awareness",
        ["Startup founder"],
        "mia",
        "",
    ),
    (
        "Founder office hours (recording)",
        "webinar",
        "consideration",
        ["Startup founder"],
        "marcus",
        "",
    ),
    ("The MQL definition workshop kit", "checklist", "awareness", ["RevOps manager"], "mia", ""),
    ("Lead SLA template", "checklist", "consideration", ["RevOps manager"], "marcus", ""),
    (
        "Sales-to-marketing handoff: what good looks like",
        "video",
        "consideration",
        ["RevOps manager", "Ops-minded VP Operations"],
        "mia",
        "",
    ),
    (
        "Objection: 'our CRM can do this'",
        "one_pager",
        "decision",
        ["RevOps manager"],
        "dana",
        "Battlecard; send after the first demo.",
    ),
    (
        "Follow-up email after a discovery call",
        "email_template",
        "consideration",
        [],
        "dana",
        "Generic; adapt per persona.",
    ),
]
QUESTIONS = [
    (
        "Do you have a security questionnaire already filled in (CAIQ, SIG)?",
        "Enterprise IT Director",
        "decision",
        "dana",
        "Asked in three IT deals this month.",
    ),
    (
        "What does a founder-sized plan cost after the trial?",
        "Startup founder",
        "decision",
        "lee",
        "",
    ),
    (
        "Can it read carrier EDI messages directly?",
        "Ops-minded VP Operations",
        "consideration",
        "dana",
        "",
    ),
]


def _at(now: datetime, days_ago: int) -> datetime:
    return now - timedelta(days=days_ago)


def run(*, now: datetime, stdout) -> None:
    users = {
        u.username: u
        for u in get_user_model().objects.filter(
            username__in=["mia", "marcus", "dana", "lee", "sofia"]
        )
    }
    created = 0
    with transaction.atomic():
        for spec in PERSONAS:
            if Persona.objects.filter(name=spec["name"]).exists():
                continue
            data = {k: v for k, v in spec.items() if k != "criteria"}
            persona = persona_create(
                data=data, criteria=spec["criteria"], actor=users["mia"], now=_at(now, 60)
            )
            persona_sign_off(persona=persona, user=users["sofia"], now=_at(now, 58))
            persona_sign_off(
                persona=persona,
                user=users["marcus"],
                now=_at(now, 57),
                note="Agreed in the October workshop.",
            )
            created += 1
            if spec["name"] == "Ops-minded VP Operations":
                # A second, re-agreed version, so the history page has something to show.
                persona, _ = persona_update(
                    persona=persona,
                    data={
                        "buying_triggers": spec["buying_triggers"] + "\nCarrier contract renewal."
                    },
                    criteria=[
                        *spec["criteria"][:2],
                        {**spec["criteria"][2], "value": [150, 2500]},
                        *spec["criteria"][3:],
                    ],
                    actor=users["marcus"],
                    now=_at(now, 20),
                )
                persona_sign_off(persona=persona, user=users["sofia"], now=_at(now, 19))
                persona_sign_off(persona=persona, user=users["marcus"], now=_at(now, 18))

        personas = {p.name: p for p in Persona.objects.all()}
        pieces = 0
        for i, (title, fmt, stage, names, author, notes) in enumerate(CONTENT):
            if ContentPiece.objects.filter(title=title).exists():
                continue
            slug = title.lower().replace(" ", "-").replace("'", "").replace(":", "")
            content_create(
                data={
                    "title": title,
                    "url": f"https://example.com/resources/{slug[:60]}",
                    "format": fmt,
                    "stage": stage,
                    "notes": notes,
                },
                personas=[personas[n] for n in names if n in personas],
                actor=users[author],
                now=_at(now, 50 - i * 3),
            )
            pieces += 1
        questions = 0
        for text, persona_name, stage, author, context in QUESTIONS:
            if ProspectQuestion.objects.filter(question=text).exists():
                continue
            question_submit(
                question=text,
                context=context,
                persona=personas.get(persona_name),
                stage=stage,
                actor=users[author],
                now=_at(now, 5),
            )
            questions += 1
    stdout.write(
        f"personas: {created} personas, {pieces} content pieces, {questions} prospect questions"
    )
