"""The query language and highlighted snippets (no database)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from townhall.search.backends.sqlite import match_expression
from townhall.search.query import MAX_QUERY_LENGTH, parse, partial_forms
from townhall.search.text import fold, highlight


def test_parse_reads_words_phrases_and_operators():
    parsed = parse('Deploy "Quarterly Planning" from:@Ada in:platform-team #Café-Talk the')
    assert parsed.words == ("deploy",)
    assert parsed.phrases == (("quarterly", "planning"),)
    assert parsed.authors == ("ada",)
    assert parsed.communities == ("platform-team",)
    assert parsed.topics == ("cafe talk",)


def test_parse_turns_fts_syntax_into_plain_words():
    parsed = parse("NEAR(a b) title:foo* ^bar -baz (qux) AND")
    assert parsed.words == ("near", "title", "foo", "bar", "baz", "qux")
    assert match_expression(parsed) == '"near"* AND "title"* AND "foo"* AND "bar"* AND "baz"* AND "qux"*'


def test_parse_handles_unbalanced_quotes_long_input_and_stop_words():
    assert parse('"open quote words').words == ("open", "quote", "words")
    assert parse("y" * 10_000).messages[0].startswith(f"Your search was cut to its first {MAX_QUERY_LENGTH}")
    assert parse("the of and").is_empty
    assert "too common" in parse("the of and").messages[-1]
    assert parse("").is_empty and not parse("").messages


def test_partial_forms_reach_into_stemmed_endings():
    assert partial_forms("deploymen") == ["deploymen", "deployme", "deploym", "deploy", "deplo"]
    assert partial_forms("runn") == ["runn", "run"]


def test_highlight_escapes_first_then_marks():
    html = highlight('<b>José</b> & "jose" <script>', ["jose"])
    assert html == "&lt;b&gt;<mark>José</mark>&lt;/b&gt; &amp; &quot;<mark>jose</mark>&quot; &lt;script&gt;"


def test_highlight_marks_whole_words_from_their_start_and_cuts_a_window():
    text = "word " * 100 + "Straße deployment " + "tail " * 100
    html = highlight(text, ["strasse", "deploy"], width=80)
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>Straße</mark> <mark>deployment</mark>" in html
    assert "re<mark>" not in highlight("redeploy", ["deploy"])


@given(st.text(max_size=300), st.lists(st.text(max_size=8), max_size=4))
def test_highlight_never_emits_markup_from_content(text, terms):
    html = str(highlight(text, [fold(term) for term in terms]))
    assert "<" not in html.replace("<mark>", "").replace("</mark>", "")


@given(st.text(max_size=400))
def test_parse_never_raises_and_only_letters_reach_backends(raw):
    parsed = parse(raw)
    for word in (*parsed.words, *(w for phrase in parsed.phrases for w in phrase)):
        assert word.isalnum()
    match_expression(parsed)


@given(
    st.text(alphabet=st.characters(max_codepoint=127), max_size=200),
    st.lists(st.text(alphabet="abcdeAB", min_size=1, max_size=3), max_size=3),
)
def test_highlight_ascii_fast_path_marks_what_the_general_path_marks(text, terms):
    """ASCII text is folded with str.lower and no offset table; the same text with a
    non-ASCII word after it goes the general way and must mark the same spans."""
    from townhall.search.text import _spans

    folded = [fold(term) for term in terms]
    text = " ".join(text.split())
    assert _spans(text, folded) == [span for span in _spans(text + " é", folded) if span[1] <= len(text)]
