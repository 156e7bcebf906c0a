"""Post and comment pages and actions (`posts:` URLs).

They live in the feed app, not in posts, because every htmx answer is a hydrated
card (feed.selectors.hydrate) and posts sits below feed in the layering. Every
action is a plain form POST that redirects back (no JavaScript needed); an htmx
request gets the fragment it swaps instead: the card (posts/_post.html), its
reaction bar, or a comment (posts/_comment.html).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from townhall.accounts.http import AuthedRequest
from townhall.accounts.models import User
from townhall.communities.models import Community
from townhall.communities.selectors import all_company, community_get
from townhall.core import idempotency
from townhall.core.errors import NotFound, TownhallError, ValidationFailed
from townhall.core.forms import apply_error
from townhall.core.markdown import render_markdown
from townhall.directory.selectors import person_get
from townhall.feed.selectors import (
    COMPANY,
    comment_cards,
    hydrate,
    post_destinations,
    reaction_options,
    topic_suggestions,
)
from townhall.feed.web import domain_errors, here, is_htmx, safe_next
from townhall.posts.forms import CommentEditForm, CommentForm, PostEditForm, PostForm, ShareForm
from townhall.posts.models import Comment, Post
from townhall.posts.permissions import can_offer_urgent, check_edit_comment, check_edit_post
from townhall.posts.selectors import (
    comment_get,
    comments_page,
    mention_candidates,
    post_for_action,
    post_get,
    post_revisions,
)
from townhall.posts.services import (
    comment_create,
    comment_delete,
    comment_edit,
    post_create,
    post_delete,
    post_edit,
    post_pin,
    post_share,
    posts_mark_seen,
)
from townhall.posts.text import prepare
from townhall.reactions.models import EMOJI, ReactionKind
from townhall.reactions.selectors import reaction_summary, reactors
from townhall.reactions.services import reaction_set

COMMENTS_PAGE_SIZE = 50
REACTORS_PAGE_SIZE = 50
REACTORS_SHOWN = 8  # names per kind on the post page before "and n more"


def _card(request: AuthedRequest, post_id: int) -> Any:
    post = post_get(viewer=request.user, post_id=post_id)
    return hydrate(viewer=request.user, posts=[post])[0]


def _render_card(request: AuthedRequest, post_id: int, **extra: Any) -> HttpResponse:
    context = {"card": _card(request, post_id), "here": here(request), **extra}
    return render(request, "posts/_post.html", context)


# --- composing ---------------------------------------------------------------------


def _destination_target(viewer: User, value: str) -> tuple[Community | None, User | None]:
    """The community or profile a composer's `destination` names. NotFound for a hidden
    one (like a missing one), ValidationFailed for a malformed value."""
    if value == COMPANY:
        return all_company(), None
    kind, _, rest = value.partition(":")
    if kind == "community" and rest:
        return community_get(viewer=viewer, slug=rest), None
    if kind == "profile" and rest.isdigit():
        return None, person_get(viewer=viewer, user_id=int(rest)).user
    raise ValidationFailed("Choose where to post.", fields={"destination": ["Choose where to post."]})


def _post_form(request: AuthedRequest) -> PostForm:
    choices = [(d.value, d.label) for d in post_destinations(viewer=request.user)]
    wanted = request.POST.get("destination") or request.GET.get("to") or ""
    if wanted and wanted not in {value for value, _ in choices}:
        # A community page or someone's profile offers a place the home list doesn't;
        # the service decides whether the viewer may post there.
        choices.append((wanted, _destination_label(request.user, wanted)))
    offer_urgent = can_offer_urgent(request.user)
    if request.method == "POST":
        return PostForm(request.POST, request.FILES, destinations=choices, offer_urgent=offer_urgent)
    return PostForm(
        destinations=choices,
        initial={"destination": wanted or (choices[0][0] if choices else "")},
        offer_urgent=offer_urgent,
    )


def _destination_label(viewer: User, value: str) -> str:
    try:
        community, person = _destination_target(viewer, value)
    except (NotFound, ValidationFailed):
        return value
    if community is not None:
        return community.name
    assert person is not None
    return "My profile" if person.pk == viewer.pk else f"{person.display_name}’s profile"


def _composer_error(request: AuthedRequest, form: PostForm, *, preview: str = "") -> HttpResponse:
    """htmx: swap the composer in place with its errors; otherwise the compose page."""
    context = {
        "form": form,
        "preview_html": preview,
        "lost_images": bool(request.FILES),
        "here": safe_next(request, ""),
    }
    if is_htmx(request):
        response = render(request, "posts/_composer.html", context)
        response["HX-Retarget"] = "#composer"
        response["HX-Reswap"] = "outerHTML"
        return response
    status = 200 if preview and not form.errors else 400
    return render(request, "posts/compose.html", {**context, "page_title": "Write a post"}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def create(request: AuthedRequest) -> HttpResponse:
    """Publish a post (or, with action=preview and no JavaScript, show how it will look).
    htmx gets the new card to put on top of the feed, with a fresh composer."""
    viewer = request.user
    form = _post_form(request)
    if request.method == "GET":
        return render(
            request, "posts/compose.html", {"form": form, "page_title": "Write a post", "here": safe_next(request, "")}
        )
    if not form.is_valid():
        return _composer_error(request, form)
    body = form.cleaned_data["body"] or ""
    if request.POST.get("action") == "preview":
        return _composer_error(request, form, preview=prepare(author=viewer, body=body).html)

    def refused(exc: TownhallError) -> HttpResponse:
        apply_error(form, exc)
        return _composer_error(request, form)

    # The form's one-time token: a double submit or a retry after a 503 posts once.
    return idempotency.form_once(
        request, user_id=viewer.pk, produce=lambda: _publish(request, form, body), refused=refused
    )


def _publish(request: AuthedRequest, form: PostForm, body: str) -> idempotency.Produced:
    viewer = request.user
    try:
        community, person = _destination_target(viewer, form.cleaned_data["destination"])
        post = post_create(
            actor=viewer,
            body=body,
            community=community,
            profile_user=person,
            images=form.images(),
            urgent=bool(form.cleaned_data.get("urgent")),
        )
    except ValidationFailed as exc:
        apply_error(form, exc)
        return _composer_error(request, form), False
    if is_htmx(request):
        fresh = PostForm(
            destinations=form.fields["destination"].choices,  # type: ignore[attr-defined]
            initial={"destination": form.cleaned_data["destination"]},
            offer_urgent="urgent" in form.fields,
        )
        context = {
            "card": _card(request, post.pk),
            "here": here(request),
            "form": fresh,
        }
        return render(request, "posts/created.html", context), True
    messages.success(request, "Your post is published.")
    return redirect(safe_next(request, reverse("posts:detail", args=[post.pk]))), True


@login_required
@require_POST
def preview(request: AuthedRequest) -> HttpResponse:
    """How a body will look once posted (mentions and topics resolved for the author)."""
    body = request.POST.get("body", "")[:20_000]
    html = prepare(author=request.user, body=body).html if body.strip() else ""
    return render(request, "posts/_preview.html", {"preview_html": html})


@login_required
@require_GET
def autocomplete(request: AuthedRequest) -> JsonResponse:
    """@mention and #topic suggestions for the composer: `q` is what follows the sigil,
    `type` is "mention" (people and communities) or "topic"."""
    query = (request.GET.get("q") or "")[:100]
    results: list[dict[str, str]] = []
    if request.GET.get("type") == "topic":
        for found in topic_suggestions(viewer=request.user, prefix=query):
            results.append({"value": f"#{found.name}", "label": f"#{found.name}", "detail": "Topic"})
    else:
        for candidate in mention_candidates(viewer=request.user, prefix=query):
            detail = candidate.detail if candidate.kind == "person" else f"Community · {candidate.detail}"
            results.append({"value": f"@{candidate.handle}", "label": candidate.label, "detail": detail})
    response = JsonResponse({"results": results})
    response["Cache-Control"] = "private, no-store"
    return response


# --- one post ----------------------------------------------------------------------


@login_required
@require_GET
@domain_errors
def detail(request: AuthedRequest, post_id: int) -> HttpResponse:
    """A post with its whole conversation (replies one level deep), reaction details
    and every action the viewer may take. Hidden or deleted answers 404."""
    viewer = request.user
    post = post_get(viewer=viewer, post_id=post_id)
    cursor = request.GET.get("comments") or None
    try:
        page = comments_page(viewer=viewer, post=post, cursor=cursor, limit=COMMENTS_PAGE_SIZE)
    except ValidationFailed:
        cursor = None
        page = comments_page(viewer=viewer, post=post, limit=COMMENTS_PAGE_SIZE)
    comments = comment_cards(viewer=viewer, post=post, comments=page.items)
    url = reverse("posts:detail", args=[post.pk])
    reply_to = request.GET.get("reply", "")
    context: dict[str, Any] = {
        "post": post,
        "reply_to": int(reply_to) if reply_to.isdigit() else None,
        "comments": comments,
        "next_comments_url": f"{url}?comments={page.next_cursor}" if page.next_cursor else "",
        "post_url": url,
        "here": here(request),
    }
    if cursor and is_htmx(request) and request.htmx.target == "comments-more":  # type: ignore[attr-defined]
        response = render(request, "posts/detail.html#more_comments", context)
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response
    card = hydrate(viewer=viewer, posts=[post])[0]
    posts_mark_seen(viewer=viewer, post_ids=[post.pk], verified=True)
    context |= {
        "card": card,
        "detail": True,
        "who_reacted": _who_reacted(request, post_id=post.pk, counts={o.kind: o.count for o in card.reactions})
        if card.reaction_total
        else [],
        "comment_form": CommentForm(auto_id="new-comment-%s"),
        "page_title": f"Post by {post.author.display_name}",
        "nav": "",
    }
    response = render(request, "posts/detail.html", context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _who_reacted(request: AuthedRequest, *, post_id: int, counts: dict[str, int]) -> list[dict[str, Any]]:
    """The latest people per kind, for the post page (one page of reactors). The post
    was just read through the oracle for this viewer and its card counted the kinds
    (`counts`), so this is one query."""
    page = reactors(viewer=request.user, target_type="post", target_id=post_id, limit=100, verified=True)
    groups = []
    for kind in ReactionKind:
        people = [r.user for r in page.items if r.kind == kind.value]
        total = counts.get(kind.value, 0)
        if total:
            groups.append(
                {
                    "kind": kind.value,
                    "label": kind.label,
                    "emoji": EMOJI[kind.value],
                    "people": people[:REACTORS_SHOWN],
                    "more": max(0, total - min(len(people), REACTORS_SHOWN)),
                    "count": total,
                }
            )
    return groups


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def edit(request: AuthedRequest, post_id: int) -> HttpResponse:
    """Edit one's own post (its old text goes to the history). htmx gets the card."""
    viewer = request.user
    post = post_get(viewer=viewer, post_id=post_id)
    check_edit_post(viewer, post)
    preview_html = ""
    status = 200
    if request.method == "POST":
        form = PostEditForm(request.POST)
        if form.is_valid():
            body = form.cleaned_data["body"] or ""
            if request.POST.get("action") == "preview":
                preview_html = prepare(author=viewer, body=body).html
            else:
                try:
                    post_edit(actor=viewer, post=post, body=body)
                except ValidationFailed as exc:
                    apply_error(form, exc)
                else:
                    if is_htmx(request):
                        return _render_card(request, post.pk)
                    messages.success(request, "Your post is updated.")
                    return redirect(safe_next(request, reverse("posts:detail", args=[post.pk])))
        if form.errors:
            status = 400
    else:
        form = PostEditForm(initial={"body": post.body})
    context = {
        "form": form,
        "post": post,
        "preview_html": preview_html,
        "page_title": "Edit post",
        "here": safe_next(request, ""),
        "cancel_url": safe_next(request, reverse("posts:detail", args=[post.pk])),
    }
    return render(request, "posts/edit.html", context, status=status)


@login_required
@require_GET
@domain_errors
def history(request: AuthedRequest, post_id: int) -> HttpResponse:
    """Every earlier text of a post, newest first, for whoever can see the post."""
    viewer = request.user
    post = post_get(viewer=viewer, post_id=post_id)
    revisions = [
        {"revision": revision, "html": render_markdown(revision.body)}
        for revision in post_revisions(viewer=viewer, post=post)
    ]
    context = {"post": post, "revisions": revisions, "page_title": "Edit history"}
    return render(request, "posts/history.html", context)


def _after_delete_url(request: AuthedRequest, post: Post) -> str:
    fallback = reverse("feed:community", args=[post.community.slug]) if post.community else reverse("feed:home")
    target = safe_next(request, fallback)
    return (
        fallback if target.split("#")[0].rstrip("/") == reverse("posts:detail", args=[post.pk]).rstrip("/") else target
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def delete(request: AuthedRequest, post_id: int) -> HttpResponse:
    """Delete a post (author, profile owner, moderators): GET asks, POST does it."""
    viewer = request.user
    post = post_for_action(viewer=viewer, post_id=post_id)
    if request.method == "GET":
        card = _card(request, post.pk)
        if not card.can_delete:
            raise DjangoPermissionDenied("Only the author or a moderator can delete this post.")
        context = {"card": card, "page_title": "Delete post", "here": safe_next(request, "")}
        return render(request, "posts/delete.html", context)
    post_delete(actor=viewer, post=post)
    if is_htmx(request):
        return render(request, "posts/_deleted.html", {"post_id": post.pk})
    messages.success(request, "The post is deleted.")
    return redirect(_after_delete_url(request, post))


@login_required
@require_POST
@domain_errors
def pin(request: AuthedRequest, post_id: int) -> HttpResponse:
    """Pin (pinned=1) or unpin (pinned=0) a post in its community (its moderators)."""
    viewer = request.user
    post = post_for_action(viewer=viewer, post_id=post_id)
    pinned = request.POST.get("pinned") == "1"
    error = ""
    try:
        post_pin(actor=viewer, post=post, pinned=pinned)
    except ValidationFailed as exc:
        error = exc.message
    if is_htmx(request):
        return _render_card(request, post.pk, card_error=error, card_status="Pinned." if pinned else "Unpinned.")
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request, "The post is pinned to the top of the community." if pinned else "The post is unpinned."
        )
    return redirect(safe_next(request, reverse("posts:detail", args=[post.pk])))


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def share(request: AuthedRequest, post_id: int) -> HttpResponse:
    """Share a post into a community, with an optional comment. The original shows
    inside the share only to people who may see it."""
    viewer = request.user
    post = post_get(viewer=viewer, post_id=post_id)
    choices = [(d.value, d.label) for d in post_destinations(viewer=viewer) if not d.value.startswith("profile:")]
    status = 200
    if request.method == "POST":
        form = ShareForm(request.POST, destinations=choices)
        if form.is_valid():
            try:
                community, _ = _destination_target(viewer, form.cleaned_data["destination"])
                assert community is not None
                shared = post_share(actor=viewer, post=post, community=community, body=form.cleaned_data["body"] or "")
            except ValidationFailed as exc:
                apply_error(form, exc)
            else:
                messages.success(request, f"Shared to {community.name}.")
                return redirect("posts:detail", post_id=shared.pk)
        status = 400
    else:
        form = ShareForm(destinations=choices)
    card = hydrate(viewer=viewer, posts=[post])[0]
    context = {"form": form, "card": card, "page_title": "Share post", "has_places": bool(choices)}
    return render(request, "posts/share.html", context, status=status)


def _react_kind(request: AuthedRequest, target_type: str, target_id: int) -> str | None:
    """The kind to set: the button's kind, or none when it is already the viewer's
    (pressing your own reaction again takes it back)."""
    kind = request.POST.get("kind") or None
    if kind is None:
        return None
    current = reaction_summary(viewer=request.user, target_type=target_type, target_id=target_id).mine
    return None if current == kind else kind


def _react_failed(request: AuthedRequest, exc: ValidationFailed) -> HttpResponse:
    messages.error(request, exc.message)
    return redirect(safe_next(request, reverse("feed:home")))


@login_required
@require_POST
@domain_errors
def react(request: AuthedRequest, post_id: int) -> HttpResponse:
    """Set, change or take back the viewer's reaction to a post."""
    post = post_for_action(viewer=request.user, post_id=post_id)
    try:
        reaction_set(
            actor=request.user, target_type="post", target_id=post.pk, kind=_react_kind(request, "post", post.pk)
        )
    except ValidationFailed as exc:
        return _react_failed(request, exc)
    if is_htmx(request):
        context = {"card": _card(request, post.pk), "here": here(request), "announce": True}
        return render(request, "posts/_post_reactions.html", context)
    return redirect(safe_next(request, reverse("posts:detail", args=[post.pk])) + f"#post-{post.pk}")


def _reactors_page(
    request: AuthedRequest, *, target_type: str, target_id: int, title: str, back_url: str, base_url: str
) -> HttpResponse:
    kind = request.GET.get("kind") or None
    if kind not in ReactionKind.values:
        kind = None
    cursor = request.GET.get("cursor") or None
    try:
        page = reactors(
            viewer=request.user,
            target_type=target_type,
            target_id=target_id,
            kind=kind,
            cursor=cursor,
            limit=REACTORS_PAGE_SIZE,
        )
    except ValidationFailed:
        cursor = None
        page = reactors(
            viewer=request.user, target_type=target_type, target_id=target_id, kind=kind, limit=REACTORS_PAGE_SIZE
        )
    summary = reaction_summary(viewer=request.user, target_type=target_type, target_id=target_id)
    options = [o for o in reaction_options(summary.counts, summary.mine) if o.count]
    emoji = {o.kind: o.emoji for o in reaction_options({}, None)}
    query = f"kind={kind}&" if kind else ""
    context = {
        "page_title": title,
        "title": title,
        "rows": [{"user": r.user, "kind": r.kind, "emoji": emoji.get(r.kind, "")} for r in page.items],
        "options": options,
        "total": summary.total,
        "kind": kind,
        "base_url": base_url,
        "back_url": back_url,
        "next_url": f"{base_url}?{query}cursor={page.next_cursor}" if page.next_cursor else "",
    }
    return render(request, "posts/reactors.html", context)


@login_required
@require_GET
@domain_errors
def post_reactors(request: AuthedRequest, post_id: int) -> HttpResponse:
    """Who reacted to a post, all kinds or one."""
    post = post_get(viewer=request.user, post_id=post_id)
    detail_url = reverse("posts:detail", args=[post.pk])
    return _reactors_page(
        request,
        target_type="post",
        target_id=post.pk,
        title=f"Reactions to {post.author.display_name}’s post",
        back_url=detail_url,
        base_url=reverse("posts:reactors", args=[post.pk]),
    )


# --- comments --------------------------------------------------------------------------


def _comment_card(request: AuthedRequest, comment: Comment, post: Post) -> Any:
    comment.replies_list = []  # type: ignore[attr-defined]
    return comment_cards(viewer=request.user, post=post, comments=[comment])[0]


def _comment_anchor(comment: Comment) -> str:
    return reverse("posts:detail", args=[comment.post_id]) + f"#comment-{comment.pk}"


@login_required
@require_POST
@domain_errors
def comment_add(request: AuthedRequest, post_id: int) -> HttpResponse:
    """Comment on a post, or reply to a comment (`parent`). htmx gets the new comment
    and a fresh form; without JavaScript, the post page at the new comment."""
    viewer = request.user
    post = post_get(viewer=viewer, post_id=post_id)
    form = CommentForm(request.POST, request.FILES)
    if not form.is_valid():
        return _comment_error(request, form, post, None)
    parent_id = form.cleaned_data.get("parent")
    parent = comment_get(viewer=viewer, comment_id=parent_id) if parent_id else None

    def produce() -> idempotency.Produced:
        try:
            comment = comment_create(
                actor=viewer, post=post, body=form.cleaned_data["body"] or "", parent=parent, images=form.images()
            )
        except ValidationFailed as exc:
            apply_error(form, exc)
            return _comment_error(request, form, post, parent), False
        if is_htmx(request):
            context = {
                "cc": _comment_card(request, comment, post),
                "post": post,
                "parent": parent,
                "form_id": request.POST.get("form_id", ""),
                "here": here(request),
            }
            return render(request, "posts/comment_added.html", context), True
        messages.success(request, "Your reply is posted." if parent else "Your comment is posted.")
        return redirect(_comment_anchor(comment)), True

    def refused(exc: TownhallError) -> HttpResponse:
        apply_error(form, exc)
        return _comment_error(request, form, post, parent)

    # The form's one-time token: a double submit or a retry after a 503 comments once.
    return idempotency.form_once(request, user_id=viewer.pk, produce=produce, refused=refused)


def _comment_error(request: AuthedRequest, form: CommentForm, post: Post, parent: Comment | None) -> HttpResponse:
    context = {"form": form, "post": post, "parent": parent, "page_title": "Write a comment"}
    if is_htmx(request):
        context["errors_only"] = True
        response = render(request, "posts/comment_form_page.html#errors", context)
        response["HX-Retarget"] = f"#{request.POST.get('form_id') or 'new-comment'}-errors"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "posts/comment_form_page.html", context, status=400)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def comment_change(request: AuthedRequest, comment_id: int) -> HttpResponse:
    """Edit one's own comment: a page without JavaScript, an inline form with htmx."""
    viewer = request.user
    comment = comment_get(viewer=viewer, comment_id=comment_id)
    check_edit_comment(viewer, comment)
    post = comment.post
    status = 200
    if request.method == "POST":
        form = CommentEditForm(request.POST, auto_id=f"comment-{comment.pk}-edit-%s")
        if form.is_valid():
            try:
                comment = comment_edit(actor=viewer, comment=comment, body=form.cleaned_data["body"] or "")
            except ValidationFailed as exc:
                apply_error(form, exc)
            else:
                if is_htmx(request):
                    return render(
                        request, "posts/_comment.html", {"cc": _comment_card(request, comment, post), "post": post}
                    )
                messages.success(request, "Your comment is updated.")
                return redirect(_comment_anchor(comment))
        status = 400
    else:
        form = CommentEditForm(initial={"body": comment.body}, auto_id=f"comment-{comment.pk}-edit-%s")
    context = {"form": form, "comment": comment, "post": post, "page_title": "Edit comment"}
    if is_htmx(request):
        return render(request, "posts/comment_edit.html#inline_form", context, status=200)
    return render(request, "posts/comment_edit.html", context, status=status)


@login_required
@require_GET
@domain_errors
def comment_show(request: AuthedRequest, comment_id: int) -> HttpResponse:
    """One comment as rendered in the thread (htmx "cancel" of an inline edit)."""
    comment = comment_get(viewer=request.user, comment_id=comment_id)
    if not is_htmx(request):
        return redirect(_comment_anchor(comment))
    return render(
        request, "posts/_comment.html", {"cc": _comment_card(request, comment, comment.post), "post": comment.post}
    )


@login_required
@require_POST
@domain_errors
def comment_remove(request: AuthedRequest, comment_id: int) -> HttpResponse:
    """Delete a comment (its author or a moderator); its replies go with it."""
    viewer = request.user
    comment = comment_get(viewer=viewer, comment_id=comment_id)
    comment_delete(actor=viewer, comment=comment)
    if is_htmx(request):
        return render(request, "posts/_comment_deleted.html", {"comment_id": comment.pk})
    messages.success(request, "The comment is deleted.")
    return redirect(reverse("posts:detail", args=[comment.post_id]) + "#comments")


@login_required
@require_POST
@domain_errors
def comment_react(request: AuthedRequest, comment_id: int) -> HttpResponse:
    """Set, change or take back the viewer's reaction to a comment."""
    viewer = request.user
    comment = comment_get(viewer=viewer, comment_id=comment_id)
    try:
        reaction_set(
            actor=viewer, target_type="comment", target_id=comment.pk, kind=_react_kind(request, "comment", comment.pk)
        )
    except ValidationFailed as exc:
        return _react_failed(request, exc)
    if is_htmx(request):
        context = {
            "cc": _comment_card(request, comment, comment.post),
            "post": comment.post,
            "announce": True,
            "compact": request.POST.get("compact") == "1",
            "here": here(request),
        }
        return render(request, "posts/_comment_reactions.html", context)
    return redirect(safe_next(request, _comment_anchor(comment)).split("#")[0] + f"#comment-{comment.pk}")


@login_required
@require_GET
@domain_errors
def comment_reactors(request: AuthedRequest, comment_id: int) -> HttpResponse:
    """Who reacted to a comment."""
    comment = comment_get(viewer=request.user, comment_id=comment_id)
    return _reactors_page(
        request,
        target_type="comment",
        target_id=comment.pk,
        title=f"Reactions to {comment.author.display_name}’s comment",
        back_url=_comment_anchor(comment),
        base_url=reverse("posts:comment_reactors", args=[comment.pk]),
    )
