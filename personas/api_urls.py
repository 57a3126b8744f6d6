from rest_framework.routers import DefaultRouter

from personas.api import ContentPieceViewSet, PersonaViewSet, ProspectQuestionViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("personas", PersonaViewSet, basename="persona")
router.register("content", ContentPieceViewSet, basename="content")
router.register("prospect-questions", ProspectQuestionViewSet, basename="prospect-question")

urlpatterns = router.urls
