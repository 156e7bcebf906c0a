from django.urls import path

from townhall.accounts import views

app_name = "accounts"

urlpatterns = [
    path("signin", views.signin_view, name="signin"),
]
