"""Suggested weights from leads with known outcomes, checked by hand."""

import math
from datetime import timedelta

import pytest

from leads.models import Activity
from leads.scoring.suggest import auc, suggest_weights
from tests.leads.scoring_fixtures import NOW, make_lead, make_model

pytestmark = pytest.mark.django_db


def test_auc_counts_pairs_and_ties():
    assert auc([3, 2], [1, 0]) == 1.0
    assert auc([0], [1]) == 0.0
    assert auc([1, 1], [1]) == 0.5
    assert auc([2, 1], [1, 0]) == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    assert auc([], [1]) is None


def test_webinars_that_won_get_points_and_the_held_out_leads_say_how_far_to_trust_it():
    model = make_model()
    leads = [make_lead(n, industry="Banking") for n in range(12)]
    # Every 4th id is held out of the counting; alternate outcomes within each group so both
    # groups have winners and losers, and only the winners attended a webinar.
    for group in ([x for x in leads if x.pk % 4], [x for x in leads if not x.pk % 4]):
        for i, lead in enumerate(group):
            won = i % 2 == 0
            lead.attributes = {"outcome": "won" if won else "lost"}
            lead.save(update_fields=["attributes"])
            if won:
                Activity.objects.create(
                    lead=lead,
                    type="webinar_attended",
                    occurred_at=NOW - timedelta(days=5),
                    received_at=NOW,
                )
    result = suggest_weights(model=model, now=NOW)
    train = [lead for lead in leads if lead.pk % 4]
    won = sum(1 for lead in train if lead.attributes["outcome"] == "won")
    lost = len(train) - won
    assert (result.trained_on, result.tested_on) == (len(train), len(leads) - len(train))
    webinar = next(s for s in result.signals if s.key == "activity:webinar_attended")
    assert (webinar.won_with, webinar.lost_with) == (won, 0)
    expected = math.log((won + 1) / (won + 2)) - math.log(1 / (lost + 2))
    assert webinar.log_odds == pytest.approx(expected)
    assert webinar.suggested_points == round(10 * expected)
    assert result.auc == 1.0  # the held-out won leads all attended, the lost ones did not
    assert not result.trustworthy  # 12 leads are too few to trust
