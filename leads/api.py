"""The leads API: intake (leads upsert, events, website forms) and reads for people.

Machines push with `Authorization: Api-Key <key>` on the two intake endpoints only;
everything else is for users (session or `Authorization: Token <token>`)."""

from django.core.cache import cache
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, generics, parsers, permissions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from leads import selectors, services
from leads.models import FormSite, Lead, Stage
from leads.serializers import (
    EventBatchResultSerializer,
    EventInputSerializer,
    IngestedLeadSerializer,
    LeadInputSerializer,
    LeadSerializer,
    StageChangeInputSerializer,
    event_input_validator,
)
from smarketing.authentication import (
    IngestKeyAuthentication,
    IngestKeyOrPermission,
    TokenAuthentication,
    is_ingest_key,
)
from smarketing.openapi import ErrorSerializer

MAX_EVENTS_PER_REQUEST = 1000
MAX_EVENTS_BODY_BYTES = 5 * 1024 * 1024
MAX_LEAD_BODY_BYTES = 256 * 1024
MAX_FORM_BODY_BYTES = 64 * 1024


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class BodyLimitMixin:
    """Refuse an oversized body from its Content-Length, before anything reads it. DRF's
    JSON parser does not apply Django's DATA_UPLOAD_MAX_MEMORY_SIZE, so we must."""

    max_body_bytes = MAX_LEAD_BODY_BYTES

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise exceptions.ParseError("Content-Length is not a number.") from None
        if length > self.max_body_bytes:
            raise PayloadTooLarge(
                f"The request body is {length} bytes; the limit here is "
                f"{self.max_body_bytes} bytes. Send smaller batches."
            )


class LeadListCreateView(BodyLimitMixin, generics.ListAPIView):
    """GET lists leads (users with leads.view_lead). POST creates or updates one lead,
    matched by email (case-insensitive) or by external_id within its source; an ingest key
    may POST here."""

    serializer_class = LeadSerializer
    # The key class first: a missing or bad key is then a 401 with a WWW-Authenticate
    # challenge, which HTTP clients and integration tools understand.
    authentication_classes = [IngestKeyAuthentication, SessionAuthentication, TokenAuthentication]
    permission_classes = [IngestKeyOrPermission]
    ingest_key_methods = ("POST",)
    required_permissions = {"GET": "leads.view_lead", "POST": "leads.add_lead"}
    filterset_class = selectors.LeadFilter

    def get_queryset(self):
        return Lead.objects.select_related("stage", "owner")

    @extend_schema(
        request=LeadInputSerializer,
        responses={200: IngestedLeadSerializer, 201: IngestedLeadSerializer},
        description="Upsert one lead. Unknown keys are kept in `attributes`. "
        "Empty values never blank out what is known.",
    )
    def post(self, request):
        serializer = LeadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        attributes = data.pop("attributes", None)
        actor = request.user if request.user.is_authenticated else None
        lead, created = services.lead_upsert(
            data=data,
            attributes=attributes,
            now=timezone.now(),
            actor=actor,
            rule=_intake_rule(request),
        )
        body = {"id": lead.pk, "created": created, "stage": lead.stage.slug}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class LeadDetailView(generics.RetrieveAPIView):
    serializer_class = LeadSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_object(self):
        return selectors.lead_get_for_user(self.request.user, self.kwargs["pk"])


class LeadStageView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=StageChangeInputSerializer, responses={200: LeadSerializer})
    def post(self, request, pk: int):
        """Move the lead to another stage along an allowed transition."""
        lead = selectors.lead_get_for_user(request.user, pk)
        if not request.user.has_perm("leads.change_lead"):
            raise exceptions.PermissionDenied()
        serializer = StageChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stage = Stage.objects.filter(slug=serializer.validated_data["stage"]).first()
        if stage is None:
            raise exceptions.ValidationError({"stage": ["No such stage."]})
        services.lead_change_stage(
            lead=lead,
            to_stage=stage,
            now=timezone.now(),
            actor=request.user,
            reason=serializer.validated_data.get("reason", ""),
        )
        lead.refresh_from_db()
        return Response(LeadSerializer(lead).data)


class LeadExportView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        """Everything held about this person (data subject access request); audited."""
        lead = selectors.lead_get_for_user(request.user, pk)
        if not request.user.has_perm("leads.change_lead"):
            raise exceptions.PermissionDenied()
        return Response(services.lead_export(lead=lead, actor=request.user, now=timezone.now()))


class LeadEraseView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: LeadSerializer})
    def post(self, request, pk: int):
        """Erase the person's personal data; history stays, anonymous; audited."""
        lead = selectors.lead_get_for_user(request.user, pk)
        if not request.user.has_perm("leads.erase_lead"):
            raise exceptions.PermissionDenied()
        lead = services.lead_erase(
            lead=lead,
            actor=request.user,
            now=timezone.now(),
            reason=str(request.data.get("reason", "")) if hasattr(request.data, "get") else "",
        )
        return Response(LeadSerializer(lead).data)


class EventsView(BodyLimitMixin, APIView):
    authentication_classes = [IngestKeyAuthentication, SessionAuthentication, TokenAuthentication]
    permission_classes = [IngestKeyOrPermission]
    ingest_key_methods = ("POST",)
    required_permissions = {"POST": "leads.add_lead"}
    max_body_bytes = MAX_EVENTS_BODY_BYTES

    @extend_schema(
        request=EventInputSerializer(many=True),
        responses={
            200: EventBatchResultSerializer,
            207: OpenApiResponse(EventBatchResultSerializer, "Some items were rejected."),
            400: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="EventsRefused",
                    serializers=[EventBatchResultSerializer, ErrorSerializer],
                    resource_type_field_name=None,
                ),
                "Every item was rejected (a result per item), or the body is not one event "
                "or a list of events (`detail`).",
            ),
            413: OpenApiResponse(description="Body over 5 MB or more than 1,000 items."),
        },
        description="One event (an object) or up to 1,000 (a list). Each item names its "
        "lead in `lead` by email or external_id (+ source); unknown leads are created. "
        "Every item gets its own answer: accepted, duplicate (its event_id was seen "
        "before) or rejected with field errors. Good items are stored even when others "
        "are bad.",
    )
    def post(self, request):
        payload = request.data
        items = payload if isinstance(payload, list) else [payload]
        if len(items) > MAX_EVENTS_PER_REQUEST:
            raise PayloadTooLarge(
                f"{len(items)} events in one request; send at most "
                f"{MAX_EVENTS_PER_REQUEST} per request."
            )
        if not items:
            raise exceptions.ValidationError({"detail": "Send one event or a list of events."})
        now = timezone.now()
        valid: list[tuple[int, dict]] = []
        rejected: dict[int, services.EventResult] = {}
        # EventInputSerializer's answers, at a fraction of its cost per item (see
        # EventInputValidator); the serializer stays the documented schema.
        validator = event_input_validator()
        for index, item in enumerate(items):
            try:
                valid.append((index, validator.run_validation(item)))
            except serializers.ValidationError as exc:
                event_id = item.get("event_id", "") if isinstance(item, dict) else ""
                rejected[index] = services.EventResult(
                    index,
                    services.ItemStatus.REJECTED,
                    str(event_id or ""),
                    errors=_as_field_errors(serializers.as_serializer_error(exc)),
                )
        done = (
            {
                r.index: r
                for r in services.events_ingest(items=valid, now=now, rule=_intake_rule(request))
            }
            if valid
            else {}
        )
        results = [(done.get(i) or rejected[i]).as_dict() for i in range(len(items))]
        counts = {s: sum(1 for r in results if r["status"] == s) for s in services.ItemStatus}
        if counts[services.ItemStatus.REJECTED] == 0:
            code = status.HTTP_200_OK
        elif counts[services.ItemStatus.REJECTED] == len(results):
            code = status.HTTP_400_BAD_REQUEST
        else:
            code = status.HTTP_207_MULTI_STATUS
        return Response({**{str(k): v for k, v in counts.items()}, "results": results}, status=code)


def _intake_rule(request) -> str:
    """What the history of a lead created here names as its creator: the key, by prefix."""
    return f"api key {request.auth.prefix}" if is_ingest_key(request) else "api"


def _as_field_errors(errors) -> dict:
    if isinstance(errors, dict):
        return {
            k: _as_field_errors(v) if isinstance(v, dict) else [str(m) for m in v]
            for k, v in errors.items()
        }
    return {"non_field_errors": [str(m) for m in errors]}


# --- Website forms ------------------------------------------------------------------------


class FormCaptureView(BodyLimitMixin, APIView):
    """A website form posts here directly (JSON from a script, or a plain HTML form).
    Public: the site key is in the page. Protected by the site's allowed origins, a
    honeypot field and a per-IP rate limit."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [parsers.JSONParser, parsers.FormParser, parsers.MultiPartParser]
    max_body_bytes = MAX_FORM_BODY_BYTES
    IGNORED_FIELDS = frozenset({"csrfmiddlewaretoken", "page_url"})

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        site = getattr(self, "site", None)
        origin = request.headers.get("Origin", "")
        if site is not None and origin and site.origin_allowed(origin):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type"
            response["Access-Control-Max-Age"] = "86400"
        response["Vary"] = "Origin"
        return response

    def initial(self, request, *args, **kwargs):
        self.site = get_object_or_404(FormSite, site_key=kwargs["site_key"], is_active=True)
        origin = request.headers.get("Origin", "")
        if self.site.allowed_origins and not (origin and self.site.origin_allowed(origin)):
            raise exceptions.PermissionDenied("This origin may not post to this form.")
        super().initial(request, *args, **kwargs)

    def options(self, request, *args, **kwargs):
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 429: OpenApiTypes.OBJECT},
        auth=[],
    )
    def post(self, request, site_key: str):
        site = self.site
        self._rate_limit(request, site)
        raw = request.data.dict() if hasattr(request.data, "dict") else dict(request.data)
        if str(raw.pop(site.honeypot_field, "") or "").strip():
            # Tell the bot it worked, so that it does not learn to avoid the trap.
            return self._success(request, site)
        page_url = str(raw.get("page_url") or request.headers.get("Referer", ""))[:500]
        fields = {k: v for k, v in raw.items() if k not in self.IGNORED_FIELDS}
        fields.pop("external_id", None)  # only email identifies a person on a public form
        fields["source"] = site.source
        serializer = LeadInputSerializer(data=fields)
        if not serializer.is_valid():
            return Response(
                {"ok": False, "errors": _as_field_errors(serializer.errors)},
                status=status.HTTP_400_BAD_REQUEST,
            )
        data = dict(serializer.validated_data)
        if not data.get("email"):
            return Response(
                {"ok": False, "errors": {"email": ["Please give your email address."]}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        for flag in ("do_not_email", "do_not_call"):
            # A public form may ask us not to contact someone, never lift that request:
            # anyone can type anyone's email into a form.
            if not data.get(flag):
                data.pop(flag, None)
        extra = data.pop("attributes", {})
        services.form_submission_record(
            site=site, fields={**extra, **data}, now=timezone.now(), page_url=page_url
        )
        return self._success(request, site)

    def _success(self, request, site: FormSite):
        if site.redirect_url and request.content_type != "application/json":
            return HttpResponseRedirect(site.redirect_url, status=303)
        return Response({"ok": True})

    def _rate_limit(self, request, site: FormSite) -> None:
        ip = request.META.get("REMOTE_ADDR", "unknown")
        minute = int(timezone.now().timestamp() // 60)
        key = f"leads:form:{site.pk}:{ip}:{minute}"
        cache.add(key, 0, timeout=120)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=120)
            count = 1
        if count > site.rate_limit_per_minute:
            raise exceptions.Throttled(
                wait=60 - int(timezone.now().timestamp()) % 60,
                detail="Too many submissions from your address; try again in a minute.",
            )
