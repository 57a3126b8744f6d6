# CSV import pages; included by leads/urls.py under /leads/import/ (names join "leads:").
urlpatterns = []
