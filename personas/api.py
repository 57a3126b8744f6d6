from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from personas import services
from personas.criteria import LEAD_FIELDS
from personas.fit import persona_fit
from personas.forms import ContentFilter
from personas.models import (
    ContentPiece,
    CriterionKind,
    Operator,
    Persona,
    PersonaSignOff,
    PersonaVersion,
    ProspectQuestion,
)


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django's model permissions, with reading guarded by `view_<model>` as well: a user
    without a role sees nothing."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class CriterionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=CriterionKind.choices,
        required=False,
        help_text="Optional for lead fields (derived); 'custom' for a custom attribute.",
    )
    field = serializers.CharField(
        max_length=100,
        help_text="A lead field (" + ", ".join(LEAD_FIELDS) + ") or a custom attribute name.",
    )
    operator = serializers.ChoiceField(choices=Operator.choices)
    value = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="A list for in/not_in/contains, [min, max] for between, a number for gte/lte.",
    )
    weight = serializers.IntegerField(min_value=1, max_value=100, default=1)

    def validate(self, attrs):
        if not attrs.get("kind"):
            info = LEAD_FIELDS.get(attrs["field"])
            attrs["kind"] = info.kind if info else CriterionKind.CUSTOM
        return attrs


class SignOffSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)

    class Meta:
        model = PersonaSignOff
        fields = ["team", "user", "version", "signed_at", "note"]


class PersonaSerializer(serializers.ModelSerializer):
    criteria = CriterionSerializer(many=True, required=False)
    sign_offs = serializers.SerializerMethodField()

    class Meta:
        model = Persona
        fields = [
            "id",
            "name",
            "summary",
            "fit_threshold",
            *Persona.WORKSHEET_FIELDS,
            "criteria",
            "status",
            "version",
            "agreed_at",
            "sign_offs",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["status", "version", "agreed_at", "created_at", "updated_at"]
        extra_kwargs = {"fit_threshold": {"min_value": 0, "max_value": 100}}

    @extend_schema_field(SignOffSerializer(many=True))
    def get_sign_offs(self, persona) -> list[dict]:
        current = [s for s in persona.sign_offs.all() if s.version.number == persona.version]
        return SignOffSerializer(current, many=True).data

    def create(self, validated_data):
        criteria = validated_data.pop("criteria", [])
        return services.persona_create(
            data=validated_data,
            criteria=criteria,
            actor=self.context["request"].user,
            now=timezone.now(),
        )

    def update(self, instance, validated_data):
        criteria = validated_data.pop("criteria", None)
        persona, _ = services.persona_update(
            persona=instance,
            data=validated_data,
            criteria=criteria,
            actor=self.context["request"].user,
            now=timezone.now(),
        )
        return persona


class PersonaVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )
    sign_offs = SignOffSerializer(many=True, read_only=True)

    class Meta:
        model = PersonaVersion
        fields = [
            "number",
            "snapshot",
            "changes",
            "created_by",
            "created_at",
            "agreed_at",
            "sign_offs",
        ]


class SignOffInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CanViewPersonas(permissions.BasePermission):
    def has_permission(self, request, view):
        return request.user.has_perm("personas.view_persona")


class FitInputSerializer(serializers.Serializer):
    lead = serializers.DictField(
        help_text="Lead fields by name (title, seniority, department, industry, employees, "
        "annual_revenue, country, region, company) and `attributes` for custom ones."
    )


class CanSignOff(permissions.BasePermission):
    def has_permission(self, request, view):
        return request.user.has_perm("personas.sign_off_persona")


class PersonaViewSet(viewsets.ModelViewSet):
    """Personas with their criteria. Editing an agreed (or half-signed) persona creates a new
    version awaiting both sign-offs."""

    serializer_class = PersonaSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    filterset_fields = ["status"]

    def get_queryset(self):
        return Persona.objects.prefetch_related(
            "criteria",
            Prefetch(
                "sign_offs", queryset=PersonaSignOff.objects.select_related("user", "version")
            ),
        )

    @extend_schema(request=SignOffInputSerializer, responses={200: PersonaSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="sign-off",
        permission_classes=[permissions.IsAuthenticated, CanSignOff],
    )
    def sign_off(self, request, pk=None):
        """Sign the current version for your team (Marketing or Sales). 409 if your team
        already signed it or it is already agreed."""
        persona = self.get_object()
        data = SignOffInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.persona_sign_off(
            persona=persona, user=request.user, now=timezone.now(), note=data.validated_data["note"]
        )
        fresh = self.get_queryset().get(pk=persona.pk)
        return Response(PersonaSerializer(fresh, context={"request": request}).data)

    @extend_schema(request=FitInputSerializer, responses={200: dict})
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[permissions.IsAuthenticated, CanViewPersonas],
    )
    def fit(self, request, pk=None):
        """Try the persona on a lead described in the request (nothing is stored): the fit
        0-100 and, for every criterion, matched / missed / unknown with points and reason."""
        persona = self.get_object()
        data = FitInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(persona_fit(data.validated_data["lead"], persona).as_dict())

    @extend_schema(responses={200: PersonaVersionSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None):
        """Every version: its snapshot, what changed and who signed it."""
        persona = self.get_object()
        versions = persona.versions.select_related("created_by").prefetch_related(
            Prefetch("sign_offs", queryset=PersonaSignOff.objects.select_related("user", "version"))
        )
        return Response(PersonaVersionSerializer(versions, many=True).data)


class ContentPieceSerializer(serializers.ModelSerializer):
    personas = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Persona.objects.all(), required=False
    )
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = ContentPiece
        fields = [
            "id",
            "title",
            "url",
            "format",
            "stage",
            "personas",
            "authored_by_team",
            "notes",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["authored_by_team", "created_at", "updated_at"]

    def create(self, validated_data):
        personas = validated_data.pop("personas", [])
        return services.content_create(
            data=validated_data,
            personas=personas,
            actor=self.context["request"].user,
            now=timezone.now(),
        )

    def update(self, instance, validated_data):
        personas = validated_data.pop("personas", None)
        return services.content_update(
            piece=instance, data=validated_data, personas=personas, now=timezone.now()
        )


class ContentPieceViewSet(viewsets.ModelViewSet):
    """The content library. Filter with ?persona=&stage=&team=&format=&q=. Anyone who may
    add content (Sales included) can submit; it is marked as authored by their team."""

    serializer_class = ContentPieceSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    filterset_class = ContentFilter
    queryset = ContentPiece.objects.prefetch_related("personas").select_related("created_by")


class QuestionPermissions(permissions.BasePermission):
    """Questions ride on the content permissions: who may add content may ask."""

    def has_permission(self, request, view):
        perm = "view" if request.method in permissions.SAFE_METHODS else "add"
        return request.user.has_perm(f"personas.{perm}_contentpiece")


class ProspectQuestionSerializer(serializers.ModelSerializer):
    submitted_by = serializers.CharField(
        source="submitted_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = ProspectQuestion
        fields = [
            "id",
            "question",
            "context",
            "persona",
            "stage",
            "status",
            "answered_by",
            "submitted_by",
            "submitted_at",
            "resolved_at",
        ]
        read_only_fields = ["status", "answered_by", "submitted_at", "resolved_at"]

    def create(self, validated_data):
        return services.question_submit(
            **validated_data, actor=self.context["request"].user, now=timezone.now()
        )


class ProspectQuestionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """What prospects ask about: Sales submits, Marketing answers with content."""

    serializer_class = ProspectQuestionSerializer
    permission_classes = [permissions.IsAuthenticated, QuestionPermissions]
    filterset_fields = ["status", "persona", "stage"]
    queryset = ProspectQuestion.objects.select_related("submitted_by")
