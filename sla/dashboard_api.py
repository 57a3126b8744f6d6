"""GET /api/v1/sla/compliance/: the dashboard's figures as JSON, with the same filters and
the same access rules (managers both sides; Sales and Marketing their own; a rep only their
own handoffs)."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from sla import selectors
from sla.dashboard_views import (
    ComplianceFilterForm,
    can_see_marketing,
    can_see_sales,
    sees_only_self,
)

FILTER_PARAMETERS = [
    OpenApiParameter(
        "start", OpenApiTypes.DATE, description="First day (default: 1st of this month)."
    ),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, included (default: today)."),
    OpenApiParameter("team", OpenApiTypes.INT, description="Sales team id."),
    OpenApiParameter("rep", OpenApiTypes.INT, description="User id of the rep owning the handoff."),
    OpenApiParameter("persona", OpenApiTypes.INT, description="Persona id of the lead's score."),
    OpenApiParameter("source", OpenApiTypes.STR, description="Lead source, exactly."),
    OpenApiParameter("model", OpenApiTypes.INT, description="Scoring model id that qualified it."),
]


class ComplianceView(APIView):
    @extend_schema(
        summary="SLA compliance figures (the dashboards' numbers)",
        description=(
            "Sales side: speed to lead, median and p90 first touch, share touched within the "
            "SLA, attempts against policy, accept time, per-rep table, 12-week trend, system vs "
            "human latency. Marketing side: MQLs delivered vs committed, acceptance rate, "
            "rejection reasons, MQL -> SQL -> won by persona, source and model version. A side "
            "the caller may not see is null; a sales rep sees their own handoffs only. "
            "Durations are in minutes."
        ),
        parameters=FILTER_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT},
        tags=["sla"],
    )
    def get(self, request):
        user = request.user
        sales, marketing = can_see_sales(user), can_see_marketing(user)
        if not (sales or marketing):
            raise PermissionDenied("Only Sales, Marketing and their managers see SLA compliance.")
        lock = user if sales and not marketing and sees_only_self(user) else None
        form = ComplianceFilterForm(
            request.query_params, now=timezone.now(), lock_rep=lock, with_choices=False
        )
        if not form.is_valid():
            raise ValidationError({k: [str(e) for e in v] for k, v in form.errors.items()})
        f = form.filters()
        figures = selectors.compliance(f, sales=sales, marketing=marketing)
        terms = figures.terms
        return Response(
            {
                "filters": f.as_params(),
                "sla_version": terms.version if terms.pk else None,
                "sales": figures.sales if sales else None,
                "marketing": figures.marketing if marketing else None,
            }
        )
