"""/api/v1/scoring-models/: versions with nested rules, the propose / sign-off / activate
actions, the backtest, and rescore progress."""

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from leads.scoring import selectors, services
from leads.scoring.models import RescoreJob, ScoringModel, ScoringRule
from leads.scoring.suggest import suggest_weights


class ScoringPermission(permissions.BasePermission):
    """Everyone with a role reads; writing needs change_scoringmodel; signing is checked by
    the service (it needs the sign-off permission and a team)."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS or getattr(view, "action", "") == "sign_off":
            return request.user.has_perm("leads.view_scoringmodel")
        return request.user.has_perm("leads.change_scoringmodel")


class RuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScoringRule
        fields = ["id", *services.RULE_FIELDS]


class ScoringSignOffSerializer(serializers.Serializer):
    team = serializers.CharField()
    user = serializers.CharField(source="user.username")
    signed_at = serializers.DateTimeField()


class ScoringModelSerializer(serializers.ModelSerializer):
    rules = RuleSerializer(many=True, required=False)
    sign_offs = ScoringSignOffSerializer(many=True, read_only=True)
    based_on = serializers.PrimaryKeyRelatedField(
        queryset=ScoringModel.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = ScoringModel
        fields = [
            "id",
            "version",
            "name",
            "description",
            "status",
            "based_on",
            "min_fit",
            "min_engagement",
            "min_total",
            "require_agreed_persona",
            "min_persona_fit",
            "block_do_not_contact",
            "hand_raisers",
            "hand_raiser_days",
            "rules",
            "sign_offs",
            "created_at",
            "proposed_at",
            "activated_at",
            "retired_at",
        ]
        read_only_fields = [
            "version",
            "status",
            "created_at",
            "proposed_at",
            "activated_at",
            "retired_at",
        ]


class RescoreJobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = RescoreJob
        fields = [
            "id",
            "model",
            "status",
            "total",
            "processed",
            "became_mql",
            "percent",
            "failure",
            "created_at",
            "started_at",
            "finished_at",
        ]


class SuggestionSerializer(serializers.Serializer):
    trained_on = serializers.IntegerField()
    tested_on = serializers.IntegerField()
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    auc = serializers.FloatField(allow_null=True)
    trustworthy = serializers.BooleanField()
    signals = serializers.ListField(child=serializers.DictField())


class ScoringModelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ScoringModelSerializer
    permission_classes = [permissions.IsAuthenticated, ScoringPermission]
    queryset = ScoringModel.objects.prefetch_related("rules", "sign_offs__user").order_by(
        "-version"
    )
    filterset_fields = ["status"]

    @transaction.atomic
    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        rules = data.pop("rules", [])
        model = services.scoring_model_create(
            actor=self.request.user, now=timezone.now(), **{"name": data.pop("name", ""), **data}
        )
        for rule in rules:
            services.rule_add(model=model, data=rule, actor=self.request.user, now=timezone.now())
        serializer.instance = model

    @transaction.atomic
    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        rules = data.pop("rules", None)
        data.pop("based_on", None)
        now = timezone.now()
        model = services.scoring_model_update(
            model=serializer.instance, actor=self.request.user, now=now, **data
        )
        if rules is not None:  # a full rule list replaces the rules
            for rule in list(model.rules.all()):
                services.rule_remove(rule=rule, actor=self.request.user, now=now)
            for rule in rules:
                services.rule_add(model=model, data=rule, actor=self.request.user, now=now)
        serializer.instance = ScoringModel.objects.get(pk=model.pk)

    def _answer(self, model: ScoringModel) -> Response:
        fresh = self.get_queryset().get(pk=model.pk)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(request=None, responses=ScoringModelSerializer)
    @action(detail=True, methods=["post"])
    def propose(self, request, pk=None):
        model = services.scoring_model_propose(
            model=self.get_object(), actor=request.user, now=timezone.now()
        )
        return self._answer(model)

    @extend_schema(request=None, responses=ScoringModelSerializer)
    @action(detail=True, methods=["post"], url_path="sign-off")
    def sign_off(self, request, pk=None):
        model = self.get_object()
        services.scoring_model_sign_off(model=model, user=request.user, now=timezone.now())
        return self._answer(model)

    @extend_schema(request=None, responses={202: RescoreJobSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        job = services.scoring_model_activate(
            model=self.get_object(), actor=request.user, now=timezone.now()
        )
        return Response(RescoreJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={200: dict},
        description="Scores every lead under this model: precision, recall, lift, confusion "
        "matrix and score histograms on leads with known outcomes, and how many open leads "
        "would be MQL today; the active model's figures side by side.",
    )
    @action(detail=True, methods=["get"])
    def backtest(self, request, pk=None):
        model = self.get_object()
        now = timezone.now()
        active = services.active_model()
        body = {"model": selectors.backtest(model=model, now=now).as_dict()}
        if active is not None and active.pk != model.pk:
            body["active"] = selectors.backtest(model=active, now=now).as_dict()
        return Response(body)

    @extend_schema(request=None, responses=SuggestionSerializer)
    @action(detail=True, methods=["get"], url_path="suggested-weights")
    def suggested_weights(self, request, pk=None):
        """Points history suggests for each signal, with the held-out AUC."""
        result = suggest_weights(model=self.get_object(), now=timezone.now())
        signals = [
            {
                "key": s.key,
                "label": s.label,
                "won_with": s.won_with,
                "lost_with": s.lost_with,
                "current_points": s.current_points,
                "suggested_points": s.suggested_points,
            }
            for s in result.signals
        ]
        return Response(
            SuggestionSerializer(
                {**vars(result), "signals": signals, "trustworthy": result.trustworthy}
            ).data
        )


class RescoreJobViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = RescoreJobSerializer
    permission_classes = [permissions.IsAuthenticated, ScoringPermission]
    queryset = RescoreJob.objects.order_by("-created_at")

    @extend_schema(request=None, responses={202: RescoreJobSerializer})
    def create(self, request):
        job = services.rescore_start(actor=request.user, now=timezone.now())
        return Response(RescoreJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
