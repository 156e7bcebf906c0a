"""Web forms for posts and comments. They only shape input; the services validate
(length, images, where one may post) and their errors come back through
core.forms.apply_error."""

from __future__ import annotations

from typing import IO, Any

from django import forms

from townhall.core.forms import QuickSelect
from townhall.posts.services import (
    MAX_ALT_TEXT,
    MAX_COMMENT_IMAGES,
    MAX_COMMENT_LENGTH,
    MAX_POST_IMAGES,
    MAX_POST_LENGTH,
)

# Image slots shown without JavaScript; composer.js reveals the rest one by one.
VISIBLE_IMAGE_SLOTS = 3
IMAGE_ACCEPT = "image/jpeg,image/png,image/gif,image/webp"

ImageInput = tuple[IO[bytes], str]


def _body_field(*, label: str, limit: int, rows: int, placeholder: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=limit,
        strip=False,
        widget=forms.Textarea(
            attrs={
                "rows": rows,
                "placeholder": placeholder,
                "data-markdown": "",
                "data-autocomplete": "",
                "spellcheck": "true",
            }
        ),
    )


class _ImagesMixin(forms.Form):
    """`image_<n>` file and `alt_<n>` description pairs, n = 1..slots."""

    image_slots = 0

    def _add_image_fields(self) -> None:
        for n in range(1, self.image_slots + 1):
            self.fields[f"image_{n}"] = forms.FileField(
                label=f"Image {n}",
                required=False,
                widget=forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT}),
            )
            self.fields[f"alt_{n}"] = forms.CharField(
                label=f"Description of image {n}",
                required=False,
                max_length=MAX_ALT_TEXT,
                help_text="Say what the image shows, for people who can't see it.",
            )

    def image_slots_bound(self) -> list[dict[str, Any]]:
        """The slots as bound fields for the template (`hidden` past the visible ones)."""
        return [
            {
                "n": n,
                "file": self[f"image_{n}"],
                "alt": self[f"alt_{n}"],
                "hidden": n > VISIBLE_IMAGE_SLOTS,
            }
            for n in range(1, self.image_slots + 1)
        ]

    def images(self) -> list[ImageInput]:
        """(file, alt text) for each filled slot, in order."""
        picked: list[ImageInput] = []
        for n in range(1, self.image_slots + 1):
            upload = self.cleaned_data.get(f"image_{n}")
            if upload:
                picked.append((upload, self.cleaned_data.get(f"alt_{n}") or ""))
        return picked


class PostForm(_ImagesMixin):
    """The composer: where to post, the Markdown text and images with descriptions."""

    image_slots = MAX_POST_IMAGES

    destination = forms.ChoiceField(label="Post to", widget=QuickSelect)
    body = _body_field(
        label="Message", limit=MAX_POST_LENGTH, rows=4, placeholder="Share an update, ask a question, @mention someone…"
    )

    def __init__(
        self, *args: Any, destinations: list[tuple[str, str]], offer_urgent: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["destination"].choices = destinations  # type: ignore[attr-defined]
        if offer_urgent:
            self.fields["urgent"] = forms.BooleanField(
                required=False,
                label="Urgent: notify every member now, by email even outside working hours",
            )
        self._add_image_fields()


class PostEditForm(forms.Form):
    body = _body_field(label="Message", limit=MAX_POST_LENGTH, rows=8, placeholder="")


class ShareForm(forms.Form):
    destination = forms.ChoiceField(label="Share to", widget=QuickSelect)
    body = _body_field(
        label="Add a comment (optional)", limit=MAX_POST_LENGTH, rows=3, placeholder="Why are you sharing this?"
    )

    def __init__(self, *args: Any, destinations: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["destination"].choices = destinations  # type: ignore[attr-defined]


class CommentForm(_ImagesMixin):
    image_slots = MAX_COMMENT_IMAGES

    body = _body_field(label="Comment", limit=MAX_COMMENT_LENGTH, rows=2, placeholder="Write a comment…")
    parent = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._add_image_fields()


class CommentEditForm(forms.Form):
    body = _body_field(label="Comment", limit=MAX_COMMENT_LENGTH, rows=3, placeholder="")
