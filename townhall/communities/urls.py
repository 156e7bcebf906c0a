from django.urls import path

from townhall.communities import views, views_manage

app_name = "communities"

# /c/<slug>/ itself is the feed app's community page; these are around it.
urlpatterns = [
    path("communities/", views.community_list, name="list"),
    path("communities/new", views.community_create, name="create"),
    path("communities/invitations", views.my_invitations, name="invitations"),
    path("communities/invitations/<int:invitation_id>", views.invitation_decide, name="invitation_decide"),
    path("c/<slug:slug>/members", views_manage.community_members, name="members"),
    path("c/<slug:slug>/members/<int:user_id>", views_manage.member_action, name="member_action"),
    path("c/<slug:slug>/settings", views_manage.community_settings, name="settings"),
    path("c/<slug:slug>/requests", views_manage.community_requests, name="requests"),
    path("c/<slug:slug>/requests/<int:request_id>", views_manage.request_decide, name="request_decide"),
    path("c/<slug:slug>/invite", views_manage.community_invite, name="invite"),
    path("c/<slug:slug>/join", views.community_join, name="join"),
    path("c/<slug:slug>/leave", views.community_leave, name="leave"),
    path("c/<slug:slug>/mute", views.community_mute, name="mute"),
]
