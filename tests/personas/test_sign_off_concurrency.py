"""Sign-offs racing on PostgreSQL: each team signs a version once, and the persona ends
agreed exactly once."""

import threading

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connections
from django.utils import timezone

from personas.models import Persona, PersonaSignOff, PersonaStatus
from personas.services import persona_sign_off
from smarketing.errors import Conflict
from tests.factories import PersonaFactory, UserFactory


@pytest.mark.postgres
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="needs PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_two_sales_managers_and_a_marketing_manager_signing_at_once():
    persona = PersonaFactory()
    signers = []
    for name, role in [
        ("s1", "Sales manager"),
        ("s2", "Sales manager"),
        ("m1", "Marketing manager"),
    ]:
        user = UserFactory(username=name)
        user.groups.add(Group.objects.get(name=role))
        signers.append(user)
    outcomes: list[str] = []
    barrier = threading.Barrier(len(signers))

    def sign(user):
        try:
            barrier.wait()
            persona_sign_off(
                persona=Persona.objects.get(pk=persona.pk), user=user, now=timezone.now()
            )
            outcomes.append("signed")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign, args=(u,)) for u in signers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "signed", "signed"]
    assert sorted(PersonaSignOff.objects.values_list("team", flat=True)) == ["marketing", "sales"]
    persona.refresh_from_db()
    assert persona.status == PersonaStatus.AGREED
