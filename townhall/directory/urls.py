from django.urls import path

from townhall.directory import views

app_name = "directory"

urlpatterns = [
    path("", views.people_list, name="list"),
    path("<int:user_id>/", views.profile, name="profile"),
    path("<int:user_id>/edit/", views.profile_edit, name="edit"),
]
