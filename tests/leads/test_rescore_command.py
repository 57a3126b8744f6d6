"""`manage.py rescore`: rescores every lead here and now, hands over those that cross the
line once, and refuses bad options with a message."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from leads.handoff.models import Handoff
from leads.models import Activity
from leads.scoring.models import LeadScore, RescoreJob
from tests.leads.scoring_fixtures import NOW, make_lead, make_model

pytestmark = pytest.mark.django_db


def test_it_rescores_everyone_and_hands_over_once():
    make_model()
    asking = make_lead(1)
    Activity.objects.create(lead=asking, type="demo_request", occurred_at=NOW, received_at=NOW)
    quiet = make_lead(2, industry="Banking", employees=10)
    out = StringIO()
    call_command("rescore", "--chunk", "1", "--nice", "0", stdout=out)
    assert "Rescored 2 leads under v1" in out.getvalue()
    assert "1 became MQL" in out.getvalue()
    assert set(LeadScore.objects.values_list("lead_id", flat=True)) == {asking.pk, quiet.pk}
    call_command("rescore", "--nice", "0", stdout=StringIO())
    assert Handoff.objects.filter(lead=asking).count() == 1
    assert list(RescoreJob.objects.values_list("became_mql", flat=True).order_by("pk")) == [1, 0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chunk", "0"], "--chunk must be at least 1."),
        (["--nice", "20"], "--nice must be between 0 and 19."),
        (["--nice", "0"], "There is no active scoring model; activate one first."),
    ],
)
def test_bad_options_and_no_model_are_refused_with_a_message(args, message):
    with pytest.raises(CommandError, match=message.replace(".", r"\.")):
        call_command("rescore", *args, stdout=StringIO())
