"""The pool table's rows are written in Python, not in the template: what a lead says about
itself is escaped, and each row keeps its claim button, deadline and fallbacks."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.leads.queue_fixtures import NOW, make_handoff

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        yield


def test_what_a_lead_says_about_itself_is_escaped(rep, client_for):
    make_handoff(first_name="<script>x</script>", company="A & B", title='"Boss"')
    page = client_for(rep).get("/leads/queue/").content.decode()
    pool = page.split('data-testid="pool"', 1)[1].split("</table>", 1)[0]
    assert "<script>x</script>" not in pool
    assert "&lt;script&gt;x&lt;/script&gt;" in pool
    assert "<td>A &amp; B</td>" in pool
    assert '<div class="small text-secondary">&quot;Boss&quot;</div>' in pool


def test_each_row_has_its_claim_button_deadline_and_fallbacks(rep, client_for):
    handoff = make_handoff(company="", title="", accept_due_at=NOW + timedelta(hours=1))
    page = client_for(rep).get("/leads/queue/").content.decode()
    row = page.split(f'<tr id="handoff-{handoff.pk}">', 1)[1].split("</tr>", 1)[0]
    claim = reverse("leads:queue_claim", args=[handoff.pk])
    assert f'hx-post="{claim}" hx-target="#handoff-{handoff.pk}"' in row
    assert "<td>—</td>" in row  # no company
    assert "<td>Any rep</td>" in row  # routed to no team
    assert "Accept due in 50" in row and 'title="' in row
    assert "text-secondary" not in row.split("</td>", 1)[0]  # no title line
