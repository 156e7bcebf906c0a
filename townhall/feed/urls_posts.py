"""`posts:` URLs. The views live in feed (see views_posts.py for why); config.urls
mounts this module under /posts/ with the `posts` namespace."""

from django.urls import path

from townhall.feed import views_move
from townhall.feed import views_posts as views

app_name = "posts"

urlpatterns = [
    path("new", views.create, name="create"),
    path("preview", views.preview, name="preview"),
    path("autocomplete", views.autocomplete, name="autocomplete"),
    path("<int:post_id>/", views.detail, name="detail"),
    path("<int:post_id>/edit", views.edit, name="edit"),
    path("<int:post_id>/delete", views.delete, name="delete"),
    path("<int:post_id>/pin", views.pin, name="pin"),
    path("<int:post_id>/move", views_move.move, name="move"),
    path("<int:post_id>/share", views.share, name="share"),
    path("<int:post_id>/history", views.history, name="history"),
    path("<int:post_id>/react", views.react, name="react"),
    path("<int:post_id>/reactions", views.post_reactors, name="reactors"),
    path("<int:post_id>/comments", views.comment_add, name="comment_add"),
    path("comments/<int:comment_id>/", views.comment_show, name="comment_show"),
    path("comments/<int:comment_id>/edit", views.comment_change, name="comment_edit"),
    path("comments/<int:comment_id>/delete", views.comment_remove, name="comment_delete"),
    path("comments/<int:comment_id>/react", views.comment_react, name="comment_react"),
    path("comments/<int:comment_id>/reactions", views.comment_reactors, name="comment_reactors"),
]
