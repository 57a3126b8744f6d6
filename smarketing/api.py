from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from smarketing.errors import ApplicationError


def exception_handler(exc, context):
    """One place that maps our errors to HTTP: application errors become 400/409 with a
    message and field details; Django's validation errors become DRF's."""
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.message, **exc.extra}, status=exc.status_code)
    if isinstance(exc, RecursionError):
        # The JSON parser recurses per nesting level; a body of nested brackets is bad
        # input, not a server fault.
        exc = exceptions.ParseError("JSON parse error - the body is nested too deeply.")
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)
