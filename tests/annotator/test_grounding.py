from __future__ import annotations

from falconer.annotator.grounding import ground, locate


def test_exact_match_gives_every_boundary_aligned_occurrence() -> None:
    text = "The battery is weak ; battery life matters , batteryless is not a word ."
    assert locate(text, "battery") == [(4, 11), (22, 29)]


def test_match_inside_a_longer_word_is_not_grounded() -> None:
    assert ground("My MacBook is fine .", ["Mac"]).spans == ()


def test_case_insensitive_match_returns_the_document_surface_form() -> None:
    grounded = ground("I love the Retina Display on it .", ["retina display"])
    assert [s.text for s in grounded.spans] == ["Retina Display"]


def test_whitespace_insensitive_match_finds_tokenized_text() -> None:
    text = "The screen is $ 150 cheaper , but I do n't care ."
    grounded = ground(text, ["$150", "don't"])
    assert [s.text for s in grounded.spans] == ["$ 150", "do n't"]
    assert all(s.matches(text) for s in grounded.spans)


def test_strings_not_in_the_text_are_dropped_and_counted() -> None:
    grounded = ground("Angela Merkel met reporters .", ["Angela Merkel", "Barack Obama", "  "])
    assert [s.text for s in grounded.spans] == ["Angela Merkel"]
    assert grounded.dropped == ("Barack Obama",)


def test_offsets_are_code_points_in_non_ascii_text() -> None:
    text = "🎉 Zoë Ångström und 東京 trafen François 🙂 ."
    grounded = ground(text, ["Zoë Ångström", "東京", "francois", "FRANÇOIS"])
    assert [s.text for s in grounded.spans] == ["Zoë Ångström", "東京", "François"]
    for span in grounded.spans:
        assert text[span.start : span.end] == span.text
    assert grounded.dropped == ("francois",)


def test_overlapping_answers_keep_the_longer_span() -> None:
    grounded = ground("The battery life is great .", ["battery", "battery life", "life"])
    assert [s.text for s in grounded.spans] == ["battery life"]


def test_duplicate_answers_give_one_span() -> None:
    grounded = ground("Paris is nice .", ["Paris", "Paris", "paris"])
    assert [(s.start, s.end) for s in grounded.spans] == [(0, 5)]
