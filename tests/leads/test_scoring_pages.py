"""The scoring pages: a marketer builds a model in the browser, both teams sign it off, it is
activated and every lead is rescored with progress shown."""

import pytest
from django.urls import reverse

from leads.scoring import services
from leads.scoring.models import ModelStatus, RescoreJob, RescoreStatus, ScoringModel
from tests.leads.scoring_fixtures import NOW, make_lead, make_model

HTMX = {"HTTP_HX_REQUEST": "true"}


def _rule(**extra):
    base = {
        "kind": "engagement",
        "label": "",
        "points": "4",
        "field": "",
        "attribute": "",
        "operator": "",
        "value": "",
        "activity_type": "page_view",
        "property_name": "",
        "property_value": "",
        "cap": "",
        "window_days": "",
        "half_life_days": "",
    }
    return {**base, **extra}


def test_a_marketer_builds_signs_activates_and_watches_the_rescore(
    client_for, marketer, marketing_manager, sales_manager, django_capture_on_commit_callbacks
):
    make_lead(1)
    client = client_for(marketer)
    response = client.post(reverse("leads:scoring_new"))
    model = ScoringModel.objects.get()
    assert response.url == reverse("leads:scoring_detail", args=[model.pk])
    page = client.get(response.url).content.decode()
    assert "No rules yet" in page

    added = client.post(reverse("leads:scoring_rule_add", args=[model.pk]), _rule(), **HTMX)
    assert added.status_code == 200
    assert added["HX-Trigger"] == "rulesChanged"
    assert "page view" in added.content.decode()
    fit = _rule(
        kind="fit",
        field="industry",
        operator="in",
        value="Logistics, Retail",
        points="15",
        activity_type="",
        label="Target industries",
    )
    body = client.post(
        reverse("leads:scoring_rule_add", args=[model.pk]), fit, **HTMX
    ).content.decode()
    assert "Target industries" in body and "Industry is one of Logistics, Retail" in body
    assert model.rules.count() == 2

    preview = client.get(reverse("leads:scoring_preview", args=[model.pk]), **HTMX)
    assert 'data-testid="preview-mql"' in preview.content.decode()

    client.post(reverse("leads:scoring_action", args=[model.pk, "propose"]))
    client_for(marketing_manager).post(reverse("leads:scoring_action", args=[model.pk, "sign-off"]))
    sales = client_for(sales_manager)
    sales.post(reverse("leads:scoring_action", args=[model.pk, "sign-off"]))
    page = sales.get(reverse("leads:scoring_detail", args=[model.pk])).content.decode()
    assert 'data-testid="activate"' in page
    with django_capture_on_commit_callbacks(execute=False):
        response = sales.post(reverse("leads:scoring_action", args=[model.pk, "activate"]))
    job = RescoreJob.objects.get()
    assert response.url == reverse("leads:scoring_rescore", args=[job.pk])
    model.refresh_from_db()
    assert model.status == ModelStatus.ACTIVE

    waiting = sales.get(response.url, **HTMX).content.decode()
    assert 'hx-trigger="every 1s"' in waiting and 'data-status="queued"' in waiting
    services.rescore_run(job=job, now=NOW)
    done = sales.get(response.url, **HTMX).content.decode()
    assert 'data-status="done"' in done and "every 1s" not in done and "100%" in done


def test_a_bad_rule_shows_its_error_in_the_form_and_adds_nothing(client_for, marketer):
    model = services.scoring_model_create(name="x", actor=marketer, now=NOW)
    client = client_for(marketer)
    bad = _rule(
        kind="fit", field="employees", operator="gte", value="lots", points="5", activity_type=""
    )
    body = client.post(
        reverse("leads:scoring_rule_add", args=[model.pk]), bad, **HTMX
    ).content.decode()
    assert "must be a number" in body
    assert model.rules.count() == 0


def test_editing_and_removing_a_rule(client_for, marketer):
    model = services.scoring_model_create(name="x", actor=marketer, now=NOW)
    rule = services.rule_add(
        model=model,
        data=_rule(points=4, cap=None, window_days=None, half_life_days=None),
        actor=marketer,
        now=NOW,
    )
    client = client_for(marketer)
    form = client.get(reverse("leads:scoring_rule_edit", args=[model.pk, rule.pk]), **HTMX)
    assert 'value="page_view"' in form.content.decode()
    client.post(
        reverse("leads:scoring_rule_edit", args=[model.pk, rule.pk]), _rule(points="9"), **HTMX
    )
    rule.refresh_from_db()
    assert rule.points == 9
    client.post(reverse("leads:scoring_rule_delete", args=[model.pk, rule.pk]), **HTMX)
    assert model.rules.count() == 0
    assert list(model.events.order_by("id").values_list("action", flat=True))[-2:] == [
        "rule_changed",
        "rule_removed",
    ]


def test_a_rep_reads_models_but_cannot_change_or_sign(client_for, rep):
    model = make_model(status=ModelStatus.PROPOSED)
    client = client_for(rep)
    assert client.get(reverse("leads:scoring")).status_code == 200
    assert client.get(reverse("leads:scoring_detail", args=[model.pk])).status_code == 200
    assert client.post(reverse("leads:scoring_new")).status_code == 403
    assert (
        client.post(reverse("leads:scoring_rule_add", args=[model.pk]), _rule()).status_code == 403
    )
    assert (
        client.post(reverse("leads:scoring_action", args=[model.pk, "sign-off"])).status_code == 403
    )
    assert client.post(reverse("leads:scoring_rescore_start")).status_code == 403


def test_outsiders_see_no_scoring(client_for, outsider):
    assert client_for(outsider).get(reverse("leads:scoring")).status_code == 403


def test_backtest_page_renders_a_chart_and_the_matrix(client_for, marketer):
    make_model()
    draft = make_model(status=ModelStatus.DRAFT, version=2)
    for n, outcome in enumerate(["won", "lost", "won"]):
        make_lead(n, attributes={"outcome": outcome})
    body = (
        client_for(marketer)
        .get(reverse("leads:scoring_backtest", args=[draft.pk]))
        .content.decode()
    )
    assert 'data-testid="confusion-matrix"' in body
    assert body.count("Chartkick[") >= 2 or body.count("new Chartkick") >= 2
    assert "/static/chartkick/chartkick.js" in body


def test_the_list_page_query_count_is_bounded(client_for, marketer, django_assert_max_num_queries):
    for version in range(1, 8):
        make_model(status=ModelStatus.RETIRED, version=version)
    client = client_for(marketer)
    client.get(reverse("leads:scoring"))
    with django_assert_max_num_queries(12):
        assert client.get(reverse("leads:scoring")).status_code == 200


@pytest.mark.parametrize("status", [RescoreStatus.DONE, RescoreStatus.FAILED])
def test_a_finished_rescore_stops_polling(client_for, marketer, status):
    job = RescoreJob.objects.create(
        model=make_model(), created_at=NOW, status=status, total=5, processed=5
    )
    body = client_for(marketer).get(reverse("leads:scoring_rescore", args=[job.pk]), **HTMX)
    assert "every 1s" not in body.content.decode()


def test_the_lead_page_explains_the_score_in_plain_words(client_for, marketer):
    make_model()
    lead = make_lead(1)
    services.lead_score(lead_id=lead.pk, now=NOW)
    body = client_for(marketer).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'data-testid="score-breakdown"' in body
    assert "Why this score: fit 25 + engagement 0 = 25" in body
    assert "Industry is one of Logistics, Retail (+15)" in body
    assert "Not an MQL yet: engagement 0 &lt; 20." in body


def test_an_unscored_lead_says_so(client_for, marketer):
    lead = make_lead(1)
    body = client_for(marketer).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Not scored yet" in body


def test_the_backtest_page_suggests_weights_with_an_honest_auc(client_for, marketer):
    model = make_model()
    for n, outcome in enumerate(["won", "lost", "won", "lost"]):
        make_lead(n, attributes={"outcome": outcome})
    body = client_for(marketer).get(reverse("leads:scoring_backtest", args=[model.pk])).content
    page = body.decode()
    assert 'data-testid="suggested-weights"' in page
    assert "Too few leads with known outcomes" in page
