"""Moving a post into another community (its moderators): a thin page over
posts.selectors.post_move_targets and posts.services.post_move. Works without
JavaScript: a form, then a redirect to the post."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from townhall.accounts.http import AuthedRequest
from townhall.core.errors import ValidationFailed
from townhall.feed.web import domain_errors
from townhall.posts.selectors import post_get, post_move_targets
from townhall.posts.services import post_move


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def move(request: AuthedRequest, post_id: int) -> HttpResponse:
    """GET: the communities this post may move to; POST `community` (a slug): move it."""
    viewer = request.user
    post = post_get(viewer=viewer, post_id=post_id)
    targets = post_move_targets(viewer=viewer, post=post)
    error = ""
    status = 200
    if request.method == "POST":
        slug = request.POST.get("community", "")
        target = next((community for community in targets if community.slug == slug), None)
        try:
            if target is None:
                raise ValidationFailed("Choose one of the communities listed.")
            post_move(actor=viewer, post=post, community=target)
        except ValidationFailed as exc:
            error, status = exc.message, 422
        else:
            messages.success(request, f"The post is now in {target.name}.")
            # Its new home (the post itself may now be out of a site moderator's reach).
            return redirect(reverse("feed:community", args=[target.slug]))
    context = {
        "post": post,
        "targets": targets,
        "error": error,
        "page_title": "Move post",
        "cancel_url": reverse("posts:detail", args=[post.pk]),
    }
    return render(request, "posts/move.html", context, status=status)
