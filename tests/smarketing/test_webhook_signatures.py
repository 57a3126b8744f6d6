"""The webhook signature refuses what it must: a wrong secret, any changed byte, a stale
or future timestamp, missing or garbled headers. Replays inside the five-minute window
are the receiver's job (dedupe on `webhook-id`, docs/webhooks.md): the verifier is
stateless, which these tests pin down too, so nobody relies on it by mistake."""

import base64
import json

import pytest

from smarketing.notifications.webhooks import (
    TOLERANCE,
    WebhookVerificationError,
    headers_for,
    secret_generate,
    sign,
    verify,
)

NOW = 1_795_780_800  # 2026-11-27 12:00 UTC
SECRET = secret_generate()
BODY = json.dumps({"type": "handoff.created", "data": {"lead": 7}}).encode()


def signed(**overrides) -> dict:
    return headers_for(secret=SECRET, msg_id="msg_1", body=BODY, timestamp=NOW, **overrides)


def test_a_message_signed_with_the_secret_verifies():
    verify(secret=SECRET, headers=signed(), body=BODY, now=NOW)


def test_a_wrong_secret_is_refused():
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify(secret=secret_generate(), headers=signed(), body=BODY, now=NOW)


@pytest.mark.parametrize("position", [0, len(BODY) // 2, len(BODY) - 1])
def test_one_flipped_byte_in_the_body_is_refused(position):
    tampered = bytearray(BODY)
    tampered[position] ^= 0x01

    with pytest.raises(WebhookVerificationError):
        verify(secret=SECRET, headers=signed(), body=bytes(tampered), now=NOW)


def test_one_flipped_byte_in_the_signature_is_refused():
    headers = signed()
    raw = bytearray(base64.b64decode(headers["webhook-signature"].removeprefix("v1,")))
    raw[0] ^= 0x01
    headers["webhook-signature"] = "v1," + base64.b64encode(bytes(raw)).decode()

    with pytest.raises(WebhookVerificationError):
        verify(secret=SECRET, headers=headers, body=BODY, now=NOW)


def test_a_changed_message_id_is_refused():
    # The id is signed, so a receiver's dedupe key cannot be swapped to slip a replay by.
    headers = {**signed(), "webhook-id": "msg_2"}

    with pytest.raises(WebhookVerificationError):
        verify(secret=SECRET, headers=headers, body=BODY, now=NOW)


def test_a_moved_timestamp_with_the_old_signature_is_refused():
    headers = {**signed(), "webhook-timestamp": str(NOW + 1)}

    with pytest.raises(WebhookVerificationError):
        verify(secret=SECRET, headers=headers, body=BODY, now=NOW)


@pytest.mark.parametrize("offset", [-1, +1])
def test_a_timestamp_beyond_five_minutes_either_way_is_refused(offset):
    limit = int(TOLERANCE.total_seconds())
    too_far = NOW + offset * (limit + 1)
    headers = headers_for(secret=SECRET, msg_id="msg_1", body=BODY, timestamp=too_far)

    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(secret=SECRET, headers=headers, body=BODY, now=NOW)


@pytest.mark.parametrize("offset", [-300, 300])
def test_a_timestamp_at_the_edge_of_the_window_verifies(offset):
    headers = headers_for(secret=SECRET, msg_id="msg_1", body=BODY, timestamp=NOW + offset)

    verify(secret=SECRET, headers=headers, body=BODY, now=NOW)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"webhook-id": "msg_1", "webhook-timestamp": str(NOW)},
        {"webhook-id": "msg_1", "webhook-timestamp": "soon", "webhook-signature": "v1,x"},
        {"webhook-timestamp": str(NOW), "webhook-signature": "v1,x"},
        {"webhook-id": "msg_1", "webhook-timestamp": str(NOW), "webhook-signature": ""},
        {"webhook-id": "msg_1", "webhook-timestamp": str(NOW), "webhook-signature": "v2,abc"},
    ],
    ids=["none", "no signature", "bad timestamp", "no id", "empty signature", "other scheme"],
)
def test_missing_or_garbled_headers_are_refused(headers):
    with pytest.raises(WebhookVerificationError):
        verify(secret=SECRET, headers=headers, body=BODY, now=NOW)


def test_header_names_are_matched_whatever_their_case():
    headers = {k.upper(): v for k, v in signed().items()}

    verify(secret=SECRET, headers=headers, body=BODY, now=NOW)


def test_one_valid_signature_among_several_is_enough_during_a_rotation():
    old = secret_generate()
    headers = signed()
    headers["webhook-signature"] = (
        sign(secret=old, msg_id="msg_1", timestamp=NOW, body=BODY)
        + " "
        + headers["webhook-signature"]
    )

    verify(secret=SECRET, headers=headers, body=BODY, now=NOW)
    with pytest.raises(WebhookVerificationError):
        verify(secret=secret_generate(), headers=headers, body=BODY, now=NOW)


def test_a_replay_inside_the_window_verifies_again_so_receivers_must_dedupe_on_the_id():
    headers = signed()
    verify(secret=SECRET, headers=headers, body=BODY, now=NOW)

    # The same bytes a minute later still verify: the verifier keeps no seen-id store.
    verify(secret=SECRET, headers=headers, body=BODY, now=NOW + 60)


def test_a_replay_after_the_window_is_refused():
    with pytest.raises(WebhookVerificationError):
        verify(secret=SECRET, headers=signed(), body=BODY, now=NOW + 301)


def test_a_retry_keeps_its_id_and_signs_a_fresh_timestamp():
    first = headers_for(secret=SECRET, msg_id="msg_9", body=BODY, timestamp=NOW)
    retry = headers_for(secret=SECRET, msg_id="msg_9", body=BODY, timestamp=NOW + 600)

    assert first["webhook-id"] == retry["webhook-id"]
    assert first["webhook-signature"] != retry["webhook-signature"]
    verify(secret=SECRET, headers=retry, body=BODY, now=NOW + 600)
