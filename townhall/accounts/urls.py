from django.urls import path

from townhall.accounts import views, views_manage

app_name = "accounts"

urlpatterns = [
    path("signin", views.signin_view, name="signin"),
    path("signout", views.signout_view, name="signout"),
    path("password-reset", views.password_reset, name="password_reset"),
    path("password-reset/sent", views.password_reset_sent, name="password_reset_sent"),
    path("password-reset/<uidb64>/<token>", views.password_reset_confirm, name="password_reset_confirm"),
    path("password-reset/done", views.password_reset_done, name="password_reset_done"),
    path("signup", views.signup_view, name="signup"),
    path("signup/confirm/<str:token>", views.signup_confirm_view, name="signup_confirm"),
    path("invite/<str:token>", views.invite_accept_view, name="invite"),
    path("guidelines", views.guidelines_view, name="guidelines"),
    path("settings/sessions", views.sessions_view, name="sessions"),
    path("settings/sessions/<int:session_id>/end", views.session_end_view, name="session_end"),
    path("settings/sessions/end-all", views.sessions_end_all_view, name="sessions_end_all"),
    path("settings/tokens", views.tokens_view, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke", views.token_revoke_view, name="token_revoke"),
    path("manage/", views_manage.manage_home, name="manage"),
    path("manage/people/<int:user_id>/role", views_manage.person_role, name="manage_role"),
    path("manage/people/<int:user_id>/deactivate", views_manage.person_deactivate, name="manage_deactivate"),
    path("manage/people/<int:user_id>/reactivate", views_manage.person_reactivate, name="manage_reactivate"),
    path("manage/invitations", views_manage.invitations, name="manage_invitations"),
    path(
        "manage/invitations/<int:invitation_id>/revoke", views_manage.invitation_revoke, name="manage_invitation_revoke"
    ),
    path("manage/organisation", views_manage.organisation, name="manage_organisation"),
]
