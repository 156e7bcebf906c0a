from django.urls import path

from townhall.core import views

app_name = "core"

urlpatterns = [
    path("healthz", views.health, name="health"),
    path("readyz", views.ready, name="ready"),
    path("metrics", views.metrics, name="metrics"),
    path("media/<path:path>", views.media, name="media"),
]
