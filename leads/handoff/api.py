"""The sales queue API: read the pool, and act on a lead's open handoff (claim, accept,
reject, log a touch, qualify, disqualify). Conflicts (a lost race, a closed handoff) answer
409 with a message; the wrong role or somebody else's lead answers 403."""

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import ISO_8601, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from leads.handoff import selectors, services
from leads.handoff.models import Handoff, RejectReason, Touch, TouchKind, TouchOutcome


class CanWorkQueue(permissions.BasePermission):
    message = "Only Sales reps and Sales managers work the sales queue."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated) and services.user_can_work_queue(user)


def _persona_name(lead) -> str | None:
    current = getattr(lead, "current_score", None)
    persona = getattr(current, "persona", None) if current is not None else None
    return persona.name if persona is not None else None


class QueueLeadSerializer(serializers.Serializer):
    """What a rep needs to call: the contact's name, company and reachable channels."""

    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")
    title = serializers.CharField()
    company = serializers.CharField()
    email = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    country = serializers.CharField()

    def get_email(self, lead) -> str:
        return lead.email if lead.can_be_emailed else ""

    def get_phone(self, lead) -> str:
        return lead.phone if lead.can_be_called else ""


class HandoffSerializer(serializers.ModelSerializer):
    lead = QueueLeadSerializer()
    team = serializers.CharField(source="team.name", allow_null=True, default=None)
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    fit = serializers.SerializerMethodField()
    score = serializers.SerializerMethodField()
    persona = serializers.SerializerMethodField()

    class Meta:
        model = Handoff
        fields = [
            "id",
            "lead",
            "status",
            "team",
            "owner",
            "fit",
            "score",
            "persona",
            "why",
            "created_at",
            "accept_due_at",
            "first_touch_due_at",
            "assigned_at",
            "accepted_at",
            "first_touch_at",
            "closed_at",
            "reject_reason",
            "reject_note",
        ]

    def get_fit(self, handoff) -> int | None:
        return handoff.score.get("fit")

    def get_score(self, handoff) -> int | None:
        return handoff.score.get("total")

    def get_persona(self, handoff) -> str | None:
        return _persona_name(handoff.lead)


class TouchSerializer(serializers.ModelSerializer):
    rep = serializers.CharField(source="rep.username")

    class Meta:
        model = Touch
        fields = [
            "id",
            "handoff",
            "lead",
            "rep",
            "kind",
            "outcome",
            "content",
            "note",
            "touched_at",
        ]


class RejectInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=RejectReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class TouchInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TouchKind.choices)
    outcome = serializers.ChoiceField(choices=TouchOutcome.choices)
    content = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class NoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


_CONFLICT = OpenApiResponse(description="Lost a race, or the handoff no longer allows this.")
_FORBIDDEN = OpenApiResponse(description="Not a Sales role, or somebody else's lead.")


_WHEN = serializers.DateTimeField()


def _when(value) -> str | None:
    """DateTimeField().to_representation(value), written out for the usual case (ISO 8601
    output, time zones on, an aware value): a claim answers with seven of these."""
    if value is None:
        return None
    if api_settings.DATETIME_FORMAT != ISO_8601 or not settings.USE_TZ or value.tzinfo is None:
        return _WHEN.to_representation(value)
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def handoff_data(handoff: Handoff) -> dict:
    """What HandoffSerializer says about a handoff whose lead (with its current score and
    persona), team and owner are loaded, built directly: the claim answers every "next
    lead" press, and the serializer's field machinery cost more than the claim itself (and
    a list of 200 cost 200 times that). HandoffSerializer stays the documented schema;
    tests/leads/test_queue_claim_fast.py holds the two to the same output."""
    lead = handoff.lead
    return {
        "id": handoff.pk,
        "lead": {
            "id": lead.pk,
            "name": str(lead),
            "title": lead.title,
            "company": lead.company,
            "email": lead.email if lead.can_be_emailed else "",
            "phone": lead.phone if lead.can_be_called else "",
            "country": lead.country,
        },
        "status": str(handoff.status),
        "team": handoff.team.name if handoff.team_id is not None else None,
        "owner": handoff.owner.username if handoff.owner_id is not None else None,
        "fit": handoff.score.get("fit"),
        "score": handoff.score.get("total"),
        "persona": _persona_name(lead),
        "why": handoff.why,
        "created_at": _when(handoff.created_at),
        "accept_due_at": _when(handoff.accept_due_at),
        "first_touch_due_at": _when(handoff.first_touch_due_at),
        "assigned_at": _when(handoff.assigned_at),
        "accepted_at": _when(handoff.accepted_at),
        "first_touch_at": _when(handoff.first_touch_at),
        "closed_at": _when(handoff.closed_at),
        "reject_reason": handoff.reject_reason,
        "reject_note": handoff.reject_note,
    }


def _reloaded(handoff: Handoff) -> dict:
    fresh = Handoff.objects.select_related(*services.CLAIM_RELATED, "owner").get(pk=handoff.pk)
    return handoff_data(fresh)


class QueueView(APIView):
    permission_classes = [CanWorkQueue]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "view", str, enum=["pool", "mine"], description="pool (default) or mine"
            )
        ],
        responses={200: HandoffSerializer(many=True)},
        description="The unclaimed leads in your pools, the most urgent first "
        "(`view=mine`: your open leads).",
    )
    def get(self, request):
        view = request.query_params.get("view", "pool")
        if view not in ("pool", "mine"):
            # A typo must not quietly show the pool to someone who asked for their leads.
            raise serializers.ValidationError({"view": ["Use 'pool' or 'mine'."]})
        if view == "mine":
            handoffs = selectors.my_leads(request.user)
        else:
            handoffs = selectors.queue_for_user(request.user)
        return Response([handoff_data(h) for h in handoffs])


class QueueNextView(APIView):
    permission_classes = [CanWorkQueue]

    @extend_schema(
        request=None,
        responses={200: HandoffSerializer, 409: _CONFLICT},
        description="Claim the most urgent lead in your pools (due first, then oldest) "
        "that nobody else is claiming.",
    )
    def post(self, request):
        # The claim comes back with its card loaded and the owner set: no re-read.
        handoff = services.handoff_claim_next(user=request.user, now=timezone.now())
        return Response(handoff_data(handoff))


class _LeadActionView(APIView):
    """Acts on the lead's open handoff (there is at most one)."""

    permission_classes = [CanWorkQueue]

    def handoff_id(self, request, pk: int) -> int:
        return selectors.open_handoff_for_lead(request.user, pk).pk


class LeadClaimView(_LeadActionView):
    @extend_schema(
        request=None,
        responses={200: HandoffSerializer, 403: _FORBIDDEN, 409: _CONFLICT},
        description="Take this lead from the pool. When two reps claim at once, one gets "
        "the lead and the other a 409 naming the winner.",
    )
    def post(self, request, pk: int):
        handoff = services.handoff_claim(
            handoff_id=self.handoff_id(request, pk), user=request.user, now=timezone.now()
        )
        return Response(_reloaded(handoff))


class LeadAcceptView(_LeadActionView):
    @extend_schema(
        request=None,
        responses={200: HandoffSerializer, 403: _FORBIDDEN, 409: _CONFLICT},
        description="Accept a lead you claimed or were assigned: it becomes SAL.",
    )
    def post(self, request, pk: int):
        handoff = services.handoff_accept(
            handoff_id=self.handoff_id(request, pk), user=request.user, now=timezone.now()
        )
        return Response(_reloaded(handoff))


class LeadRejectView(_LeadActionView):
    @extend_schema(
        request=RejectInputSerializer,
        responses={200: HandoffSerializer, 403: _FORBIDDEN, 409: _CONFLICT},
        description="Send the lead back to Marketing with a reason; it is recycled to nurture.",
    )
    def post(self, request, pk: int):
        data = RejectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        handoff = services.handoff_reject(
            handoff_id=self.handoff_id(request, pk),
            user=request.user,
            reason=data.validated_data["reason"],
            note=data.validated_data["note"],
            now=timezone.now(),
        )
        return Response(_reloaded(handoff))


class LeadTouchView(_LeadActionView):
    @extend_schema(
        request=TouchInputSerializer,
        responses={201: TouchSerializer, 403: _FORBIDDEN, 409: _CONFLICT},
        description="Log a call, email, meeting or social touch and its outcome.",
    )
    def post(self, request, pk: int):
        data = TouchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        touch = services.touch_log(
            handoff_id=self.handoff_id(request, pk),
            user=request.user,
            kind=data.validated_data["kind"],
            outcome=data.validated_data["outcome"],
            content_id=data.validated_data["content"],
            note=data.validated_data["note"],
            now=timezone.now(),
        )
        return Response(TouchSerializer(touch).data, status=status.HTTP_201_CREATED)


class LeadQualifyView(_LeadActionView):
    @extend_schema(
        request=NoteInputSerializer,
        responses={200: HandoffSerializer, 403: _FORBIDDEN, 409: _CONFLICT},
        description="Qualify an accepted lead: it becomes SQL.",
    )
    def post(self, request, pk: int):
        data = NoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        handoff = services.handoff_qualify(
            handoff_id=self.handoff_id(request, pk),
            user=request.user,
            note=data.validated_data["note"],
            now=timezone.now(),
        )
        return Response(_reloaded(handoff))


class LeadDisqualifyView(_LeadActionView):
    @extend_schema(
        request=NoteInputSerializer,
        responses={200: HandoffSerializer, 403: _FORBIDDEN, 409: _CONFLICT},
        description="Close the lead as not a buyer: it becomes Disqualified.",
    )
    def post(self, request, pk: int):
        data = NoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        handoff = services.handoff_disqualify(
            handoff_id=self.handoff_id(request, pk),
            user=request.user,
            note=data.validated_data["note"],
            now=timezone.now(),
        )
        return Response(_reloaded(handoff))
