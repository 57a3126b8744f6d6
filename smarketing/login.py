"""The sign-in form with a limit on attempts per username and address, checked before the
password so that a guesser learns nothing once over it (even a right guess is refused)."""

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from smarketing import ratelimit


def client_ip(request) -> str:
    # Behind the proxy in docker-compose, REMOTE_ADDR is the proxy's; the proxy's own
    # limit covers addresses, this one covers a username guessed from many addresses too.
    return request.META.get("REMOTE_ADDR", "unknown") if request else "unknown"


class RateLimitedAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "rate_limited": (
            "Too many sign-in attempts for this account from your address. "
            "Try again in %(minutes)d minutes."
        ),
    }

    def clean(self):
        username = (self.cleaned_data.get("username") or "").strip().lower()
        if username:
            window = settings.LOGIN_RATE_WINDOW_SECONDS
            result = ratelimit.hit(
                f"login:{username}:{client_ip(self.request)}",
                limit=settings.LOGIN_RATE_LIMIT,
                window=window,
            )
            if not result.allowed:
                raise ValidationError(
                    self.error_messages["rate_limited"],
                    code="rate_limited",
                    params={"minutes": max(1, round(result.retry_after / 60))},
                )
        return super().clean()
