from django.urls import path

from townhall.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.centre, name="centre"),
    path("badge", views.badge, name="badge"),
    path("read-all", views.mark_all_read, name="mark_all_read"),
    path("<int:notification_id>/open", views.open_item, name="open"),
    path("<int:notification_id>/read", views.mark_read, name="mark_read"),
    path("settings", views.preferences, name="preferences"),
    path("unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
]
