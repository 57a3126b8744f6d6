"""The parts of the compliance pages written in Python rather than in the template (the
per-rep table and the filter menus): names are escaped, the viewer's row is marked, the
chosen option is kept, and a bad filter marks its field."""

import pytest
import time_machine

from tests.sla import compliance_fixture as fx

pytestmark = pytest.mark.django_db

NOVEMBER = "start=2026-11-01&end=2026-11-30"


@pytest.fixture(autouse=True)
def _december():
    with time_machine.travel(fx.NOW, tick=False):
        yield


def test_rep_names_in_the_table_and_the_menu_are_escaped(rep, rep2, client_for, sales_manager):
    rep2.first_name, rep2.last_name = "<b>Lee</b>", "& Co"
    rep2.save(update_fields=["first_name", "last_name"])
    fx.build(users={"dana": rep, "lee": rep2})
    page = client_for(sales_manager).get(f"/sla/compliance/?{NOVEMBER}").content.decode()
    table = page.split('data-testid="table-reps"', 1)[1].split("</table>", 1)[0]
    assert "&lt;b&gt;Lee&lt;/b&gt; &amp; Co" in table
    menu = page.split('name="rep"', 1)[1].split("</select>", 1)[0]
    assert "&lt;b&gt;Lee&lt;/b&gt; &amp; Co" in menu
    assert "<b>Lee</b>" not in page


def test_a_rep_sees_their_own_row_marked_and_their_name_locked_in_the_menu(rep, rep2, client_for):
    fx.build(users={"dana": rep, "lee": rep2})
    page = client_for(rep2).get(f"/sla/compliance/sales/?{NOVEMBER}").content.decode()
    row = page.split(f'<tr data-rep="{rep2.pk}"', 1)[1].split("</tr>", 1)[0]
    assert row.startswith(' class="table-primary" aria-current="true">')
    assert '<span class="badge text-bg-primary">you</span>' in row
    menu = page.split('<select name="rep"', 1)[1].split("</select>", 1)[0]
    assert "disabled" in menu.split(">", 1)[0]
    assert f'<option value="{rep2.pk}" selected>' in menu


def test_a_bad_filter_marks_its_field_and_says_why(rep, rep2, client_for, sales_manager):
    fx.build(users={"dana": rep, "lee": rep2})
    response = client_for(sales_manager).get("/sla/compliance/?start=2026-11-20&end=2026-11-01")
    page = response.content.decode()
    assert response.status_code == 400
    field = page.split('name="end"', 1)[1].split(">", 1)[0]
    assert "is-invalid" in field and 'aria-describedby="id_end_error"' in field
    assert '<div id="id_end_error" class="invalid-feedback">' in page
    assert '<label for="id_start" class="form-label">From</label>' in page
