import pytest

from falconer.core import InputError, Span, TaskData
from falconer.core.tasks import Example


def test_span_of_cuts_its_text_from_offsets() -> None:
    text = "Visit 東京 with Zoë 😀 today"
    start = text.index("東京")
    assert Span.of(text, start, start + 2) == Span(start, start + 2, "東京")


def test_span_rejects_offsets_outside_text() -> None:
    with pytest.raises(InputError):
        Span.of("abc", 1, 5)
    with pytest.raises(InputError):
        Span(3, 1, "")


def test_task_data_refuses_spans_that_do_not_point_at_their_text() -> None:
    with pytest.raises(InputError, match="off its text"):
        TaskData("Extract names.", "span", [Example("Ann met Bob", spans=(Span(0, 3, "Bob"),))])
    # a slice past the end is cut short by Python, so its text alone cannot show the error
    with pytest.raises(InputError, match="off its text"):
        TaskData("Extract names.", "span", [Example("Ann", spans=(Span(0, 30, "Ann"),))])


def test_task_data_refuses_label_examples_without_label() -> None:
    with pytest.raises(InputError, match="no label"):
        TaskData("Is it good?", "label", [Example("fine")])
