"""Webhook signing secrets move from a plain column to an encrypted one (smarketing/crypto.py).

Forward: add the encrypted columns, encrypt every plain secret into them, drop the plain
column. Backward: the reverse, decrypting (needs the same keys as the forward run)."""

from django.db import migrations, models


def encrypt_secrets(apps, schema_editor):
    from smarketing import crypto

    WebhookEndpoint = apps.get_model("smarketing", "WebhookEndpoint")
    rows = WebhookEndpoint.objects.using(schema_editor.connection.alias)
    for pk, plain in rows.values_list("pk", "secret"):
        rows.filter(pk=pk).update(secret_encrypted=crypto.encrypt(plain), secret="")


def decrypt_secrets(apps, schema_editor):
    from smarketing import crypto

    WebhookEndpoint = apps.get_model("smarketing", "WebhookEndpoint")
    rows = WebhookEndpoint.objects.using(schema_editor.connection.alias)
    for pk, token in rows.values_list("pk", "secret_encrypted"):
        # The plain column holds 100 characters: enough for whsec_ + 24 random bytes.
        rows.filter(pk=pk).update(secret=crypto.decrypt(token, what=f"the secret of webhook {pk}"))


class Migration(migrations.Migration):
    dependencies = [
        ("smarketing", "0003_notifications"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookendpoint",
            name="secret_encrypted",
            field=models.TextField(
                default="",
                editable=False,
                help_text="The whsec_ signing secret, encrypted (Fernet token).",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="previous_secret_encrypted",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="previous_secret_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        # blank=True changes nothing in the database; it lets the backward run re-add the
        # plain column to a table with rows (filled with "" until decrypt_secrets runs).
        migrations.AlterField(
            model_name="webhookendpoint",
            name="secret",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets, elidable=False),
        migrations.RemoveField(
            model_name="webhookendpoint",
            name="secret",
        ),
    ]
