from django.urls import path

from townhall.directory import views

app_name = "directory"

urlpatterns = [
    path("", views.people_list, name="list"),
]
