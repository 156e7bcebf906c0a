from django.urls import path

from townhall.directory import views_import

app_name = "people_import"

urlpatterns = [
    path("", views_import.upload, name="upload"),
    path("apply", views_import.apply, name="apply"),
]
