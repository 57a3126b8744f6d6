"""The app's URLs plus the baseline endpoint; only bench.settings points here."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from smarketing.urls import urlpatterns as app_urlpatterns


class HelloView(APIView):
    """The least a DRF endpoint can do under the same middleware and gunicorn config."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"hello": "world"})

    def post(self, request):
        return Response({"hello": "world"})


urlpatterns = [
    path("bench/hello/", login_not_required(HelloView.as_view()), name="bench-hello"),
    *app_urlpatterns,
]
