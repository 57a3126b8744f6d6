"""/api/v1/notifications/: the caller's in-app inbox, mark one read, mark all read."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from smarketing.notifications import selectors, services
from smarketing.notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            *("id", "kind", "title", "body", "link", "payload"),
            *("created_at", "read_at", "unread"),
        ]
        read_only_fields = fields

    def get_unread(self, obj) -> bool:
        return obj.read_at is None


@extend_schema(
    parameters=[
        OpenApiParameter(
            "unread", OpenApiTypes.BOOL, description="Only notifications not read yet."
        )
    ]
)
class NotificationListView(generics.ListAPIView):
    """The caller's in-app notifications, newest first. Nobody sees anyone else's."""

    serializer_class = NotificationSerializer
    filter_backends = []

    def get_queryset(self):
        unread = self.request.query_params.get("unread", "").lower() in ("1", "true", "yes")
        return selectors.inbox(user=self.request.user, unread_only=unread)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        response.data["unread_count"] = selectors.unread_count(user=request.user)
        return response


class NotificationReadView(APIView):
    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request, pk: int):
        selectors.notification_get_for_user(request.user, pk)
        services.notifications_mark_read(user=request.user, ids=[pk], now=timezone.now())
        notification = selectors.notification_get_for_user(request.user, pk)
        return Response(NotificationSerializer(notification).data)


class NotificationReadAllView(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer("ReadAll", {"marked": serializers.IntegerField()}),
    )
    def post(self, request):
        marked = services.notifications_mark_read(user=request.user, now=timezone.now())
        return Response({"marked": marked})
