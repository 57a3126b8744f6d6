"""Every notification email is three templates rendered by one helper:
templates/notifications/email/<kind>_subject.txt, <kind>.txt and <kind>.html."""

from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string

GENERIC = "notifications/email/generic"


def template_prefix_for(kind: str) -> str:
    """notifications/email/<kind with dots as underscores>, or the generic message when a
    kind has no templates of its own."""
    prefix = "notifications/email/" + kind.replace(".", "_")
    try:
        get_template(f"{prefix}_subject.txt")
    except TemplateDoesNotExist:
        return GENERIC
    return prefix


def render_email(template_prefix: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) for `template_prefix`, e.g. "notifications/email/handoff_ready"."""
    subject = render_to_string(f"{template_prefix}_subject.txt", context)
    # A subject is one line; template whitespace must not break the header.
    subject = " ".join(subject.split())
    text = render_to_string(f"{template_prefix}.txt", context)
    html = render_to_string(f"{template_prefix}.html", context)
    return subject, text, html


def send_email(*, to: str, template_prefix: str, context: dict) -> None:
    subject, text, html = render_email(template_prefix, context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()
