from rest_framework.routers import DefaultRouter

from goals.api import GoalViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("goals", GoalViewSet, basename="goal")

urlpatterns = router.urls
