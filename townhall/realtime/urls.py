from django.urls import path

from townhall.realtime import views

app_name = "realtime"

urlpatterns = [
    path("stream", views.stream, name="stream"),
]
