import io

from django.utils import timezone

from personas import seed
from personas.models import ContentPiece, Persona, PersonaStatus, ProspectQuestion
from personas.selectors import content_gap_count, content_matrix
from smarketing.seed import seed_users


def test_seed_makes_agreed_personas_a_library_with_gaps_and_is_idempotent(db):
    seed_users()
    seed.run(now=timezone.now(), stdout=io.StringIO())
    seed.run(now=timezone.now(), stdout=io.StringIO())
    personas = list(Persona.objects.all())
    assert len(personas) == 4
    assert {p.status for p in personas} == {PersonaStatus.AGREED}
    ops = Persona.objects.get(name="Ops-minded VP Operations")
    assert ops.version == 2
    assert ops.versions.get(number=2).sign_offs.count() == 2
    assert all(p.goals and p.pains and p.criteria.exists() for p in personas)
    assert ContentPiece.objects.count() == 15
    assert ContentPiece.objects.filter(authored_by_team="sales").count() == 3
    assert ProspectQuestion.objects.count() == 3
    assert content_gap_count(content_matrix(personas)) == 2
