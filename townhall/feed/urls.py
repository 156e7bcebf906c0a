from django.urls import path

from townhall.feed import views

app_name = "feed"

urlpatterns = [
    path("", views.home, name="home"),
    path("home/joiners", views.home_joiners, name="home_joiners"),
    path("company", views.company, name="company"),
    path("c/<slug:slug>/", views.community, name="community"),
    path("topics/<str:slug>/", views.topic, name="topic"),
    path("topics/<str:slug>/follow", views.topic_follow_toggle, name="topic_follow"),
    path("people/<int:user_id>/posts/", views.profile_posts, name="profile"),
    path("people/<int:user_id>/follow", views.person_follow_toggle, name="person_follow"),
]
