import random

from falconer.core import Example, Span
from falconer.proxy.augment import replace_mentions


def _example(text: str, *surfaces: str) -> Example:
    return Example(
        text, spans=tuple(Span.of(text, text.index(s), text.index(s) + len(s)) for s in surfaces)
    )


def test_replaced_mentions_keep_offsets_exact_and_context_intact() -> None:
    examples = [
        _example("Alice Smith met Bob in Paris .", "Alice Smith", "Bob"),
        _example("Then Carol Ann King spoke .", "Carol Ann King"),
        Example("No people here .", spans=()),
    ]
    copies = replace_mentions(examples, 3.0, random.Random(0))
    assert len(copies) == 6
    mentions = {"Alice Smith", "Bob", "Carol Ann King"}
    for copy in copies:
        assert copy.spans
        assert all(s.matches(copy.text) and s.text in mentions for s in copy.spans)
    assert all(" met " in c.text and c.text.endswith(" in Paris .") for c in copies[:3])
    assert all(c.text.startswith("Then ") and c.text.endswith(" spoke .") for c in copies[3:])
    assert len({c.text for c in copies}) > 1


def test_no_copies_without_at_least_two_distinct_mentions() -> None:
    only = [_example("Bob ran .", "Bob"), _example("Bob sat .", "Bob")]
    assert replace_mentions(only, 2.0, random.Random(0)) == []
