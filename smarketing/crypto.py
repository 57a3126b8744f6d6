"""Encryption at rest for the few values we must read back (webhook signing secrets; keys
we only compare, like ingest keys, are hashed instead).

Values are Fernet tokens (AES-128-CBC + HMAC-SHA256, from `cryptography`) under the keys in
FIELD_ENCRYPTION_KEYS: the first key encrypts, every key decrypts, so a key is rotated by
putting a new one first, running `manage.py reencrypt_secrets`, then dropping the old one
(docs/reliability.md, "Secrets at rest").

Without FIELD_ENCRYPTION_KEYS the key is derived from SECRET_KEY with HKDF, in production
too. We chose that over refusing to start: SECRET_KEY is already the one secret every
deployment must provide and guard (compose, the bench and the fault tests set only it), a
separate purpose-bound key derived from it never exposes SECRET_KEY itself, and
django-fernet-fields set the same default. The price is that changing SECRET_KEY changes
the derived key; the procedure in docs/reliability.md pins the old one first. Deployments
that want the two secrets independent set FIELD_ENCRYPTION_KEYS."""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured

# The HKDF "info": binds the derived key to this one use, so it equals no other key made
# from SECRET_KEY. Changing it changes the key: never edit.
_HKDF_INFO = b"smarketing field encryption v1"


class DecryptionError(Exception):
    """A stored value that none of the configured keys opens."""


def derived_key(secret_key: str) -> str:
    """The Fernet key used when FIELD_ENCRYPTION_KEYS is not set."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode())).decode()


def check_keys(keys: list[str]) -> list[str]:
    """Return `keys` if each is a Fernet key; raise ImproperlyConfigured naming the bad one
    by position (never printing it) otherwise. Called by settings at start-up."""
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS: key {position} of {len(keys)} is not a Fernet key "
                "(32 url-safe base64-encoded bytes). Make one with: python -c 'from "
                "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None
    return keys


def configured_keys() -> list[str]:
    from django.conf import settings

    return settings.FIELD_ENCRYPTION_KEYS or [derived_key(settings.SECRET_KEY)]


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    # Cached by the keys themselves, so a settings override (tests, a reload) takes effect.
    return _fernet(tuple(configured_keys()))


def encrypt(plain: str) -> str:
    return _current().encrypt(plain.encode()).decode()


def decrypt(token: str, *, what: str = "a stored secret") -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        keys = configured_keys()
        source = "FIELD_ENCRYPTION_KEYS" if _explicit() else "SECRET_KEY (no FIELD_ENCRYPTION_KEYS)"
        raise DecryptionError(
            f"Cannot decrypt {what}: none of the {len(keys)} key(s) from {source} opens it. "
            "Was it encrypted under a key since removed from FIELD_ENCRYPTION_KEYS, or did "
            "SECRET_KEY change? Put the old key back (after the current one) and run "
            "`manage.py reencrypt_secrets`; see docs/reliability.md."
        ) from None


def reencrypt(token: str) -> str:
    """The same value under the current first key (DecryptionError if no key opens it)."""
    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken:
        decrypt(token)  # raises the explanatory error
        raise


def is_current(token: str) -> bool:
    """Whether `token` is already encrypted under the first key."""
    try:
        Fernet(configured_keys()[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def _explicit() -> bool:
    from django.conf import settings

    return bool(settings.FIELD_ENCRYPTION_KEYS)
