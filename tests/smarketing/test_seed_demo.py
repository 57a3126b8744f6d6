from django.contrib.auth import get_user_model
from django.core.management import call_command


def test_seed_demo_is_idempotent_and_logins_work(db, client):
    call_command("seed_demo")
    call_command("seed_demo")
    User = get_user_model()
    assert User.objects.filter(username__in=["mia", "marcus", "dana", "lee", "sofia"]).count() == 5
    assert User.objects.get(username="dana").groups.get().name == "Sales rep"
    assert client.login(username="sofia", password="demo1234")
    assert User.objects.get(username="admin").is_superuser


def test_create_api_token_prints_a_working_token(db, capsys):
    call_command("seed_demo")
    call_command("create_api_token", "mia")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/schema/").status_code == 200


def test_create_api_token_for_unknown_user_fails_clearly(db):
    import pytest
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_api_token", "ghost")
