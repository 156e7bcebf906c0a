"""@mentions and #topics: parsing, resolution and rendering."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.core.markdown import sanitize
from townhall.core.tests.test_markdown import assert_safe
from townhall.posts.tests.conftest import World
from townhall.posts.text import Resolved, parse, prepare, render, resolve, topic_slug
from townhall.testing.factories import UserFactory


def test_parse_finds_mentions_and_topics_outside_code_and_links() -> None:
    parsed = parse(
        "Hi @Ada.Lovelace and @c/design-team! #Launch #launch #café-2 "
        "`@code #code` [#link @link](https://x.example) https://x.example/#frag bob@example.com \\#escaped \\@esc"
    )
    assert parsed.handles == ["ada.lovelace"]
    assert parsed.community_slugs == ["design-team"]
    assert parsed.topics == {"launch": "Launch", "cafe-2": "café-2"}


def test_parse_ignores_code_blocks_and_headings() -> None:
    parsed = parse("# Heading\n\n```\n#notatopic @nobody\n```\n\n    #indented @code")
    assert parsed.topics == {}
    assert parsed.handles == []


def test_parse_topic_rules() -> None:
    assert parse("#1 #2024").topics == {}  # needs a letter
    assert parse("#" + "a" * 61).topics == {}  # too long is not truncated into a topic
    assert parse("#" + "a" * 60).topics == {"a" * 60: "a" * 60}
    assert parse("#日本語 #Straße").topics == {"日本語": "日本語", "strasse": "Straße"}
    assert parse("end of #sentence.").topics == {"sentence": "sentence"}
    assert parse("a#b &#35;c").topics == {}


def test_topic_slug_folds_case_and_accents() -> None:
    assert topic_slug("Café") == topic_slug("cafe") == "cafe"
    assert len(topic_slug("ß" * 60)) == 60


def test_resolve_matches_unique_active_handles_case_insensitively(world: World) -> None:
    ada = UserFactory(email="Ada.Lovelace@example.com")
    UserFactory(email="twin@example.com")
    UserFactory(email="twin@other.example")
    resolved = resolve(author=world.author, parsed=parse("@ADA.lovelace @twin @gone @nobody"))
    assert resolved.people == {"ada.lovelace": ada.pk}  # twins are ambiguous, gone is deactivated


def test_resolve_skips_communities_the_author_cannot_see(world: World) -> None:
    parsed = parse("@c/secret @c/private @c/public @c/missing")
    assert resolve(author=world.outsider, parsed=parsed).communities == {"private", "public"}
    assert resolve(author=world.author, parsed=parsed).communities == {"secret", "private", "public"}


def test_resolve_guest_sees_only_themselves(world: World) -> None:
    resolved = resolve(author=world.guest, parsed=parse("@author @guest"))
    assert resolved.people == {"guest": world.guest.pk}


def test_prepare_renders_links_for_mentions_and_topics(world: World) -> None:
    prepared = prepare(author=world.author, body="Hey @outsider see @c/public about #Café and https://example.com/x.")
    assert f'<a href="/people/{world.outsider.pk}/" class="mention"' in prepared.html
    assert '<a href="/c/public/" class="mention"' in prepared.html
    assert '<a href="/topics/cafe/" class="topic"' in prepared.html
    assert prepared.mentioned_user_ids == [world.outsider.pk]
    assert prepared.topics == {"cafe": "Café"}
    assert prepared.first_url == "https://example.com/x"


def test_prepare_does_not_link_unresolved_mentions(world: World) -> None:
    prepared = prepare(author=world.outsider, body="@nobody and @c/secret")
    assert "<a " not in prepared.html
    assert "@c/secret" in prepared.html


def test_prepare_quotes_unicode_topic_slugs(world: World) -> None:
    prepared = prepare(author=world.author, body="#日本語")
    assert 'href="/topics/%E6%97%A5%E6%9C%AC%E8%AA%9E/"' in prepared.html


def test_prepare_first_url_ignores_non_http_links(world: World) -> None:
    assert prepare(author=world.author, body="[m](mailto:a@b.c) [r](/people/1/)").first_url is None
    assert prepare(author=world.author, body="[m](mailto:a@b.c) www.example.com").first_url == "http://www.example.com"


def test_prepare_mention_text_cannot_inject_html(world: World) -> None:
    prepared = prepare(author=world.author, body='@author"><script>alert(1)</script> #a"onclick=x @c/public"x')
    assert "<script" not in prepared.html
    assert 'onclick="' not in prepared.html
    assert prepared.html.count("<a ") == 3


_PIECES = [*"@#c/_-.ab1 \n`[]()<>\"'&*", "@c/", "javascript:", "<script>", "https://x.example/", "é", "日"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=60).map("".join))
def test_render_with_every_mention_resolved_is_still_safe(body: str) -> None:
    parsed = parse(body)
    resolved = Resolved(
        people=dict.fromkeys(parsed.handles, 7), communities=set(parsed.community_slugs), topics=dict(parsed.topics)
    )
    html = render(body, resolved=resolved)
    assert_safe(html)
    assert sanitize(html) == html
