"""Who may see and act on posts and comments: the posts oracle.

A post in a community is visible exactly when its community is readable
(communities.permissions.can_read_community). A profile post is visible to every
signed-in non-guest, and to its author and the person whose profile it is. Deleted
posts are visible to nobody. `visible_posts` in selectors.py is the same rule as a
query; the two must agree (tests check both).

`can_*` answer; `check_*` raise NotFound when the viewer may not see the post (hidden
answers like absent) and PermissionDenied when they may see it but not do this.
Callers pass posts loaded with `select_related("community")` to avoid a query.
"""

from __future__ import annotations

from townhall.accounts.models import Role, User
from townhall.accounts.permissions import AnyUser, can_browse_directory, is_signed_in
from townhall.communities.models import Community, Visibility
from townhall.communities.permissions import (
    can_moderate_community,
    can_post_in,
    can_read_community,
    can_view_community,
    is_site_moderator,
)
from townhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from townhall.posts.models import Comment, Post


def can_view_post(viewer: AnyUser, post: Post) -> bool:
    if post.deleted_at is not None or not is_signed_in(viewer):
        return False
    if post.community_id is None:
        return can_browse_directory(viewer) or viewer.pk in {post.author_id, post.profile_user_id}
    assert post.community is not None
    return can_read_community(viewer, post.community)


def _archived(post: Post) -> bool:
    return post.community_id is not None and post.community is not None and post.community.is_archived


def can_edit_post(viewer: AnyUser, post: Post) -> bool:
    """The author, while they can still see it and its community is not archived."""
    return can_view_post(viewer, post) and post.author_id == viewer.pk and not _archived(post)


def _moderates(viewer: AnyUser, post: Post) -> bool:
    if is_site_moderator(viewer):
        return True
    return post.community is not None and can_moderate_community(viewer, post.community)


def can_delete_post(viewer: AnyUser, post: Post) -> bool:
    """The author, the person whose profile it is on, community moderators, and site
    admins / IC moderators."""
    if not can_view_post(viewer, post):
        return False
    return viewer.pk in {post.author_id, post.profile_user_id} or _moderates(viewer, post)


def can_pin_post(viewer: AnyUser, post: Post) -> bool:
    """Community moderators, for posts in a community that is not archived."""
    if not can_view_post(viewer, post) or post.community is None or post.community.is_archived:
        return False
    return can_moderate_community(viewer, post.community)


def can_offer_urgent(viewer: AnyUser) -> bool:
    """Whether the composer offers "urgent" at all: site admins and IC moderators."""
    return is_signed_in(viewer) and isinstance(viewer, User) and viewer.role in {Role.ADMIN, Role.IC_MODERATOR}


def can_mark_urgent(viewer: AnyUser, community: Community | None) -> bool:
    """Site admins and IC moderators, for a post into a community they may post in
    (urgency reaches every member of it, so never on a profile)."""
    return community is not None and can_offer_urgent(viewer) and can_post_in(viewer, community)


def can_move_post(viewer: AnyUser, post: Post) -> bool:
    """Community moderators (site admins and IC moderators included), for posts in a
    community that is not archived."""
    return can_pin_post(viewer, post)


# How many people may read a community's posts, from most to fewest.
_PRIVACY = {Visibility.PUBLIC: 0, Visibility.PRIVATE: 1, Visibility.SECRET: 2}


def is_widening(source: Community, target: Community) -> bool:
    """Would moving a post from `source` to `target` show it to a wider kind of
    audience? Public -> private or secret and private -> secret narrow it; the
    reverse widens it and is never allowed."""
    return _PRIVACY.get(Visibility(target.visibility), 0) < _PRIVACY.get(Visibility(source.visibility), 0)


def can_move_post_to(viewer: AnyUser, post: Post, target: Community) -> bool:
    """A move the viewer may make: they may move the post, and they run the target
    too (its audience is theirs to decide), which is open (not archived), another
    community, and never a wider audience than the post has now."""
    return (
        can_move_post(viewer, post)
        and post.community is not None
        and target.pk != post.community_id
        and not target.is_archived
        and can_moderate_community(viewer, target)
        and not is_widening(post.community, target)
    )


def can_comment(viewer: AnyUser, post: Post) -> bool:
    return can_view_post(viewer, post) and not _archived(post)


def can_react(viewer: AnyUser, post: Post) -> bool:
    """Reacting writes, so an archived (read-only) community takes no reactions."""
    return can_view_post(viewer, post) and not _archived(post)


def can_share_post(viewer: AnyUser, post: Post) -> bool:
    """Anyone who can see a post may share it (where they may post: see can_post_in).
    Guests may share only into communities they post in, checked at the target."""
    return can_view_post(viewer, post)


def can_post_on_profile(viewer: AnyUser, person: User) -> bool:
    """Any active non-guest may write on an active non-guest's profile (their own included)."""
    return can_browse_directory(viewer) and person.is_active and not person.is_guest


def can_view_history(viewer: AnyUser, post: Post) -> bool:
    return can_view_post(viewer, post)


def can_edit_comment(viewer: AnyUser, comment: Comment) -> bool:
    return comment.deleted_at is None and comment.author_id == viewer.pk and can_comment(viewer, comment.post)


def can_delete_comment(viewer: AnyUser, comment: Comment) -> bool:
    """The comment's author, or whoever moderates the post's community (site admins
    and IC moderators included)."""
    if comment.deleted_at is not None or not can_view_post(viewer, comment.post):
        return False
    return comment.author_id == viewer.pk or _moderates(viewer, comment.post)


def check_view_post(viewer: AnyUser, post: Post) -> None:
    if not can_view_post(viewer, post):
        raise NotFound()


def check_edit_post(viewer: AnyUser, post: Post) -> None:
    check_view_post(viewer, post)
    if post.author_id != viewer.pk:
        raise PermissionDenied("Only the author can edit a post.")
    if not can_edit_post(viewer, post):
        raise PermissionDenied("This community is archived, so its posts cannot be changed.")


def check_delete_post(viewer: AnyUser, post: Post) -> None:
    check_view_post(viewer, post)
    if not can_delete_post(viewer, post):
        raise PermissionDenied("Only the author or a moderator can delete this post.")


def check_pin_post(viewer: AnyUser, post: Post) -> None:
    check_view_post(viewer, post)
    if post.community is None:
        raise PermissionDenied("Only posts in a community can be pinned.")
    if not can_pin_post(viewer, post):
        if post.community.is_archived and can_moderate_community(viewer, post.community):
            raise PermissionDenied("This community is archived, so its pinned posts cannot change.")
        raise PermissionDenied("Only the community's admins can pin posts.")


def check_move_post(viewer: AnyUser, post: Post, target: Community | None = None) -> None:
    """NotFound for a hidden post or target, PermissionDenied when the viewer may not
    move it (or not there), ValidationFailed for a target it cannot go to."""
    check_view_post(viewer, post)
    if post.community is None:
        raise PermissionDenied("Only posts in a community can be moved.")
    if not can_move_post(viewer, post):
        if post.community.is_archived and can_moderate_community(viewer, post.community):
            raise PermissionDenied("This community is archived, so its posts cannot move.")
        raise PermissionDenied("Only the community's admins can move posts.")
    if target is None:
        return
    if not can_view_community(viewer, target):
        raise NotFound()
    if not can_moderate_community(viewer, target):
        raise PermissionDenied(f"Only {target.name}'s admins can move posts into it.")
    if target.pk == post.community_id:
        raise ValidationFailed("The post is already there.", fields={"community": ["Choose another community."]})
    if target.is_archived:
        message = f"{target.name} is archived, so it takes no posts."
        raise ValidationFailed(message, fields={"community": [message]})
    if is_widening(post.community, target):
        message = f"A post can only move to a community at least as private as {post.community.name}."
        raise ValidationFailed(message, fields={"community": [message]})


def check_comment(viewer: AnyUser, post: Post) -> None:
    check_view_post(viewer, post)
    if not can_comment(viewer, post):
        raise PermissionDenied("This community is archived, so it takes no new comments.")


def check_react(viewer: AnyUser, post: Post) -> None:
    check_view_post(viewer, post)
    if not can_react(viewer, post):
        raise PermissionDenied("This community is archived, so it takes no new reactions.")


def check_edit_comment(viewer: AnyUser, comment: Comment) -> None:
    if comment.deleted_at is not None:
        raise NotFound()
    check_view_post(viewer, comment.post)
    if comment.author_id != viewer.pk:
        raise PermissionDenied("Only the author can edit a comment.")
    if not can_edit_comment(viewer, comment):
        raise PermissionDenied("This community is archived, so its comments cannot be changed.")


def check_delete_comment(viewer: AnyUser, comment: Comment) -> None:
    if comment.deleted_at is not None:
        raise NotFound()
    check_view_post(viewer, comment.post)
    if not can_delete_comment(viewer, comment):
        raise PermissionDenied("Only the author or a moderator can delete this comment.")
