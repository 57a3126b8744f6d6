"""Webhook signing secrets are stored encrypted and shown once: the database holds only
ciphertext, signing still verifies end to end, a wrong key says so, keys and secrets
rotate, and no page, admin screen or API schema shows a secret after the fact."""

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from smarketing import crypto
from smarketing.models import AuditLog
from smarketing.notifications import services, webhooks
from smarketing.notifications.models import DeliveryStatus, Notification, WebhookEndpoint
from smarketing.notifications.testing import LocalReceiver

ROOT = Path(__file__).resolve().parents[2]
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _local_webhooks(settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    from smarketing.notifications import tasks

    # The relay is run by hand below; no broker.
    monkeypatch.setattr(tasks.deliver_task, "delay", lambda pk: None)
    monkeypatch.setattr(tasks.deliver_task, "apply_async", lambda *a, **k: None)


def _create(url="http://127.0.0.1:9/hook", *, actor=None) -> tuple[WebhookEndpoint, str]:
    return services.webhook_endpoint_create(
        name="CRM", url=url, body_format="standard", actor=actor, now=timezone.now()
    )


def _raw_row(pk: int) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM smarketing_webhookendpoint WHERE id = %s", [pk])
        names = [col[0] for col in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def _ping(endpoint, *, now) -> Notification:
    return services.notification_enqueue(
        kind="webhook.test",
        key=f"test:{now.timestamp()}",
        channel="webhook",
        endpoint=endpoint,
        title="Test",
        payload={"test": True},
        now=now,
    )


def _raw_secret_fragments(secret: str) -> list[str]:
    # The whole secret, and its key part alone (what a careless encoder might store).
    return [secret, secret.removeprefix(webhooks.SECRET_PREFIX)]


# --- at rest


@pytest.mark.django_db
def test_the_database_never_holds_the_plain_secret(settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    endpoint, secret = _create()
    row = _raw_row(endpoint.pk)
    for column, value in row.items():
        for fragment in _raw_secret_fragments(secret):
            assert fragment not in str(value), column
    # What is there is a Fernet token under the configured key, and opens to the secret.
    assert Fernet(KEY_A).decrypt(row["secret_encrypted"].encode()).decode() == secret
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret


@pytest.mark.django_db
def test_two_endpoints_never_share_ciphertext_even_with_one_secret(settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    first, secret = _create()
    second, _ = _create()
    second.secret = secret
    second.save(update_fields=["secret_encrypted"])
    assert _raw_row(first.pk)["secret_encrypted"] != _raw_row(second.pk)["secret_encrypted"]


@pytest.mark.django_db
def test_without_configured_keys_the_key_is_derived_from_secret_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    endpoint, secret = _create()
    token = _raw_row(endpoint.pk)["secret_encrypted"]
    derived = crypto.derived_key(settings.SECRET_KEY)
    assert Fernet(derived).decrypt(token.encode()).decode() == secret
    assert derived != crypto.derived_key(settings.SECRET_KEY + "x")


# --- signing end to end


@pytest.mark.django_db
def test_a_message_is_signed_with_the_secret_shown_at_creation(settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    with LocalReceiver() as receiver:
        endpoint, secret = _create(receiver.url)
        row = _ping(endpoint, now=timezone.now())
        assert services.notification_deliver(notification_id=row.pk, now=timezone.now()) == "sent"
    (request,) = receiver.received
    webhooks.verify(secret=secret, headers=request.headers, body=request.body)
    assert len(request.headers["webhook-signature"].split()) == 1


# --- a wrong key


@pytest.mark.django_db
def test_a_wrong_key_gives_a_clear_error_not_a_garbled_secret(settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    endpoint, _ = _create()
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)  # loading works; pages need it
    with pytest.raises(crypto.DecryptionError) as caught:
        endpoint.secret  # noqa: B018
    message = str(caught.value)
    assert f"the secret of webhook {endpoint.pk}" in message
    assert "none of the 1 key(s) from FIELD_ENCRYPTION_KEYS" in message
    assert KEY_A not in message and KEY_B not in message


@pytest.mark.django_db
def test_a_send_under_a_wrong_key_is_a_retried_attempt_with_the_reason(settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    with LocalReceiver() as receiver:
        endpoint, secret = _create(receiver.url)
        now = timezone.now()
        row = _ping(endpoint, now=now)
        settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
        assert services.notification_deliver(notification_id=row.pk, now=now) == "retrying"
        row.refresh_from_db()
        assert "DecryptionError: Cannot decrypt the secret of webhook" in row.last_error
        assert receiver.received == []  # nothing unsigned or badly signed went out

        # The operator puts the old key back: the retry goes through, correctly signed.
        settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
        assert services.notification_deliver(notification_id=row.pk, now=now + timedelta(hours=1))
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT
    (request,) = receiver.received
    webhooks.verify(secret=secret, headers=request.headers, body=request.body)


def _load_settings(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "FIELD_ENCRYPTION_KEYS"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="smarketing.settings")
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(len(settings.FIELD_ENCRYPTION_KEYS))",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_malformed_key_in_the_environment_stops_start_up_without_echoing_it():
    result = _load_settings(
        DEBUG="0", SECRET_KEY="x" * 50, FIELD_ENCRYPTION_KEYS=f"{KEY_A},not-a-key"
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS: key 2 of 2 is not a Fernet key" in result.stderr
    assert "not-a-key" not in result.stderr


def test_production_reads_a_list_of_keys():
    result = _load_settings(
        DEBUG="0", SECRET_KEY="x" * 50, FIELD_ENCRYPTION_KEYS=f" {KEY_B} , {KEY_A} "
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"


# --- key rotation


@pytest.mark.django_db
def test_rotating_the_encryption_key_re_encrypts_every_secret(settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    endpoint, secret = _create()
    rotated, _ = _create()
    services.webhook_endpoint_rotate_secret(endpoint=rotated, actor=None, now=timezone.now())
    before = _raw_row(endpoint.pk)["secret_encrypted"]

    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret  # old key still reads
    out = StringIO()
    call_command("reencrypt_secrets", "--check", stdout=out)
    assert "2 need re-encrypting, 0 already under the current key, 0 unreadable" in out.getvalue()
    assert _raw_row(endpoint.pk)["secret_encrypted"] == before  # --check changed nothing

    call_command("reencrypt_secrets", stdout=out)
    assert "2 re-encrypted" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]  # the old key is gone
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret
    rotated = WebhookEndpoint.objects.get(pk=rotated.pk)
    assert len(rotated.signing_secrets(now=timezone.now())) == 2  # the grace secret too
    for token in (before, _raw_row(endpoint.pk)["secret_encrypted"]):
        assert secret not in token
    assert _raw_row(endpoint.pk)["secret_encrypted"] != before

    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "0 re-encrypted, 2 already under the current key" in out.getvalue()


@pytest.mark.django_db
def test_re_encrypting_reports_secrets_no_key_opens_and_leaves_them(settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    lost, _ = _create()
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    kept, _ = _create()
    before = _raw_row(lost.pk)["secret_encrypted"]
    err = StringIO()
    with pytest.raises(CommandError, match="1 endpoint secret"):
        call_command("reencrypt_secrets", stdout=StringIO(), stderr=err)
    assert f"endpoint {lost.pk}: Cannot decrypt" in err.getvalue()
    assert _raw_row(lost.pk)["secret_encrypted"] == before
    assert WebhookEndpoint.objects.get(pk=kept.pk).secret


@pytest.mark.django_db
def test_the_derived_key_can_be_pinned_before_secret_key_changes(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    endpoint, secret = _create()
    out = StringIO()
    call_command("reencrypt_secrets", "--print-derived-key", stdout=out)
    pinned = out.getvalue().strip()

    settings.SECRET_KEY = "a-new-secret-key-" + "y" * 40
    with pytest.raises(crypto.DecryptionError, match="SECRET_KEY"):
        WebhookEndpoint.objects.get(pk=endpoint.pk).secret  # noqa: B018
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, pinned]
    call_command("reencrypt_secrets", stdout=StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret


# --- secret rotation


@pytest.mark.django_db
def test_after_a_rotation_both_secrets_sign_until_the_grace_period_ends(settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    with LocalReceiver() as receiver:
        endpoint, old = _create(receiver.url)
        now = timezone.now()
        new = services.webhook_endpoint_rotate_secret(endpoint=endpoint, actor=None, now=now)
        assert new != old and new.startswith("whsec_")
        endpoint.refresh_from_db()

        during = now + services.ROTATION_GRACE - timedelta(minutes=1)
        row = _ping(endpoint, now=during)
        services.notification_deliver(notification_id=row.pk, now=during)
        after = now + services.ROTATION_GRACE + timedelta(minutes=1)
        row = _ping(endpoint, now=after)
        services.notification_deliver(notification_id=row.pk, now=after)
    first, second = receiver.received
    assert len(first.headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        webhooks.verify(secret=secret, headers=first.headers, body=first.body)
    webhooks.verify(secret=new, headers=second.headers, body=second.body)
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify(secret=old, headers=second.headers, body=second.body)


@pytest.mark.django_db
def test_a_leaked_secret_stops_signing_at_once(settings):
    endpoint, old = _create()
    now = timezone.now()
    new = services.webhook_endpoint_rotate_secret(
        endpoint=endpoint, actor=None, now=now, keep_old=False
    )
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets(now=now) == [new]
    assert endpoint.previous_secret_encrypted == ""
    for fragment in _raw_secret_fragments(old) + _raw_secret_fragments(new):
        assert all(fragment not in str(v) for v in _raw_row(endpoint.pk).values())


@pytest.mark.django_db
def test_a_sales_manager_rotates_the_secret_and_sees_the_new_one_once(client_for, sales_manager):
    endpoint, old = _create()
    client = client_for(sales_manager)
    detail = reverse("notifications:webhook_detail", args=[endpoint.pk])
    response = client.post(reverse("notifications:webhook_rotate_secret", args=[endpoint.pk]))
    assert response.status_code == 200
    endpoint.refresh_from_db()
    new = endpoint.secret
    assert new != old
    html = response.content.decode()
    assert new in html and old not in html
    assert "signed with the old secret too until" in html
    assert "no-store" in response["Cache-Control"]
    audit = AuditLog.objects.get(action="webhook_endpoint.rotate_secret")
    assert (audit.actor, audit.object_id) == (sales_manager, str(endpoint.pk))
    assert new not in str(audit.details) and old not in str(audit.details)

    page = client.get(detail).content.decode()
    assert new not in page and old not in page
    assert "The previous secret also signs until" in page


@pytest.mark.django_db
def test_rotating_with_the_leak_box_ticked_drops_the_old_secret(client_for, sales_manager):
    endpoint, _ = _create()
    response = client_for(sales_manager).post(
        reverse("notifications:webhook_rotate_secret", args=[endpoint.pk]),
        {"stop_old_now": "on"},
    )
    assert "The old secret no longer signs" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.previous_secret_until is None


@pytest.mark.django_db
def test_reps_cannot_rotate_a_secret(client_for, rep):
    endpoint, _ = _create()
    before = _raw_row(endpoint.pk)["secret_encrypted"]
    response = client_for(rep).post(
        reverse("notifications:webhook_rotate_secret", args=[endpoint.pk])
    )
    assert response.status_code == 403
    assert _raw_row(endpoint.pk)["secret_encrypted"] == before


# --- shown once, never again


@pytest.mark.django_db
def test_creation_shows_the_secret_once_and_uncached(client_for, sales_manager):
    client = client_for(sales_manager)
    response = client.post(
        reverse("notifications:webhooks"),
        {"name": "EMEA", "url": "http://127.0.0.1:9000/hook", "body_format": "standard"},
    )
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert "no-store" not in client.get(reverse("notifications:webhooks")).get("Cache-Control", "")


@pytest.mark.django_db
def test_the_admin_shows_neither_the_secret_nor_its_ciphertext(client_for, admin_user):
    endpoint, secret = _create()
    token = _raw_row(endpoint.pk)["secret_encrypted"]
    client = client_for(admin_user)
    for url in (
        reverse("admin:smarketing_webhookendpoint_changelist"),
        reverse("admin:smarketing_webhookendpoint_change", args=[endpoint.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert secret not in html and token not in html
        assert 'name="secret' not in html and 'name="previous_secret' not in html


@pytest.mark.django_db
def test_the_api_schema_has_no_webhook_secret_fields(client_for, admin_user):
    schema = client_for(admin_user).get(reverse("api-schema")).content.decode()
    assert "secret_encrypted" not in schema
    assert "whsec_" not in schema


# --- the migration


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_plain_rows_and_decrypts_them_back(settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    before, after = (
        ("smarketing", "0003_notifications"),
        ("smarketing", "0004_webhook_secret_encrypted"),
    )
    plain = webhooks.secret_generate()
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([before])
        old_apps = executor.loader.project_state([before]).apps
        OldEndpoint = old_apps.get_model("smarketing", "WebhookEndpoint")
        pk = OldEndpoint.objects.create(
            name="Legacy", url="http://127.0.0.1:9/hook", secret=plain, created_at=timezone.now()
        ).pk

        executor = MigrationExecutor(connection)
        executor.migrate([after])
        row = _raw_row(pk)
        assert "secret" not in row
        assert all(plain not in str(value) for value in row.values())
        assert Fernet(KEY_A).decrypt(row["secret_encrypted"].encode()).decode() == plain

        executor = MigrationExecutor(connection)
        executor.migrate([before])
        assert _raw_row(pk)["secret"] == plain
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
