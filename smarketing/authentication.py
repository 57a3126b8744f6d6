"""`Authorization: Api-Key <key>` for machines that push data in. A key may only write
leads and events: a view opts in by listing the methods in `ingest_key_methods`; anywhere
else a key is refused outright (403), so a leaked website key cannot read the database."""

import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import connection, connections
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.authtoken.models import Token

from smarketing import ratelimit
from smarketing.models import IngestKey

KEYWORD = "Api-Key"
# last_used_at is for people, not for security: write it at most this often so that a
# busy sender does not turn every request into an UPDATE of the same row.
LAST_USED_RESOLUTION = timedelta(minutes=1)


# A sender posts hundreds of requests a second with the same key: each process remembers a
# lookup for a few seconds instead of asking the database every time. Revoking takes effect
# at once in the process that revoked and within KEY_CACHE_SECONDS everywhere else.
KEY_CACHE_SECONDS = 5.0
KEY_CACHE_SIZE = 1000  # misses are remembered too; a flood of made-up keys resets the memo
_keys: dict[str, tuple[float, IngestKey | None]] = {}


def key_lookup(key_hash: str) -> IngestKey | None:
    remembered = _keys.get(key_hash)
    now = time.monotonic()
    if remembered is not None and now - remembered[0] < KEY_CACHE_SECONDS:
        return remembered[1]
    key = IngestKey.objects.filter(key_hash=key_hash).first()
    if len(_keys) >= KEY_CACHE_SIZE:
        _keys.clear()
    _keys[key_hash] = (now, key)
    return key


def key_forget() -> None:
    _keys.clear()


class IngestKeyUser(AnonymousUser):
    """The `request.user` of a request made with an ingest key: not a person, holds no
    permissions; views tell it apart through `request.auth`."""

    def __init__(self, key: IngestKey):
        super().__init__()
        self.ingest_key = key

    def __str__(self):
        return f"ingest key {self.ingest_key.prefix}"


class IngestKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() != KEYWORD.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Give the key as 'Authorization: Api-Key <key>'.")
        view = (request.parser_context or {}).get("view")
        allowed = getattr(view, "ingest_key_methods", ())
        if request.method not in allowed:
            raise exceptions.PermissionDenied(
                "Ingest keys are accepted on intake endpoints only (POST /api/v1/leads/, "
                "POST /api/v1/events/). Use a user token for anything else."
            )
        raw = header[1].decode(errors="replace")
        key = key_lookup(IngestKey.hash_key(raw))
        if key is None or not key.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked ingest key.")
        limit = ratelimit.hit(
            f"ingest-key:{key.pk}", limit=settings.INGEST_KEY_RATE_PER_MINUTE, window=60
        )
        if not limit.allowed:
            raise exceptions.Throttled(
                wait=limit.retry_after,
                detail=f"This key sent more than {settings.INGEST_KEY_RATE_PER_MINUTE} "
                "requests this minute; batch events (up to 1,000 per request) or slow down.",
            )
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            IngestKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return IngestKeyUser(key), key

    def authenticate_header(self, request):
        return KEYWORD


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's `Authorization: Token <key>` with the same answers and messages, the token and
    its user read in one hand-written query: building the ORM's select_related query cost
    more than a rep's whole claim. Nothing is remembered between requests, so a deleted
    token or a deactivated user is refused on the very next request."""

    def authenticate_credentials(self, key):
        token = token_with_user(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)


def token_with_user(key: str) -> Token | None:
    """`Token.objects.select_related("user").get(key=key)`, or None, in one plain query."""
    sql, token_names, user_names, converters = _token_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, field, convert in converters:
        values[index] = convert(values[index], field, connection)
    split = len(token_names)
    token = Token.from_db(connection.alias, token_names, values[:split])
    token.user = get_user_model().from_db(connection.alias, user_names, values[split:])
    return token


def _token_query() -> tuple[str, list[str], list[str], list]:
    """The query, the attribute names of its columns, and the converters the ORM would
    apply to them (SQLite hands datetimes and booleans over raw): built once per database
    connection object, whose operations the converters belong to."""
    wrapper = connections[connection.alias]
    plan = wrapper.__dict__.get("_smarketing_token_query")
    if plan is not None:
        return plan
    user_model = get_user_model()
    token_fields = list(Token._meta.concrete_fields)
    user_fields = list(user_model._meta.concrete_fields)
    quote = wrapper.ops.quote_name
    columns = ", ".join(
        [f"t.{quote(f.column)}" for f in token_fields]
        + [f"u.{quote(f.column)}" for f in user_fields]
    )
    sql = (
        f"SELECT {columns} FROM {quote(Token._meta.db_table)} t "  # noqa: S608 - our own names
        f"JOIN {quote(user_model._meta.db_table)} u "
        f"ON u.{quote(user_model._meta.pk.column)} = t.{quote(Token.user.field.column)} "
        f"WHERE t.{quote(Token._meta.pk.column)} = %s"
    )
    converters = [
        (index, field, convert)
        for index, field in enumerate(token_fields + user_fields)
        for convert in (
            wrapper.ops.get_db_converters(field.get_col(field.model._meta.db_table))
            + field.get_db_converters(wrapper)
        )
    ]
    plan = (sql, [f.attname for f in token_fields], [f.attname for f in user_fields], converters)
    wrapper.__dict__["_smarketing_token_query"] = plan
    return plan


def is_ingest_key(request) -> bool:
    return isinstance(request.auth, IngestKey)


class IngestKeyOrPermission(permissions.BasePermission):
    """Allow a valid ingest key (its method scope was checked at authentication), or a
    signed-in user who holds the view's `required_permission`."""

    def has_permission(self, request, view):
        if is_ingest_key(request):
            return True
        user = request.user
        if not (user and user.is_authenticated):
            return False
        perm = getattr(view, "required_permissions", {}).get(request.method)
        return perm is None or user.has_perm(perm)


class IngestKeyScheme(OpenApiAuthenticationExtension):
    """Shows the key in the OpenAPI schema, and only on the operations that accept it."""

    target_class = IngestKeyAuthentication
    name = "IngestKey"

    def get_security_requirement(self, auto_schema):
        if auto_schema.method in getattr(auto_schema.view, "ingest_key_methods", ()):
            return {self.name: []}
        return None

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>` from `manage.py create_ingest_key NAME`; "
            "intake endpoints only.",
        }
