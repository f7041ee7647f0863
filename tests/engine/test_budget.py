"""The cascade's budget in the units users think in: calls, a share of the corpus, dollars."""

from __future__ import annotations

import pytest

from falconer.core.errors import InputError
from falconer.engine.budget import LLMBudget


def test_a_budget_is_read_as_calls_a_share_of_the_documents_or_dollars() -> None:
    assert LLMBudget.parse("500").limit(10_000, None) == 500
    assert LLMBudget.parse(500).limit(10_000, None) == 500
    assert LLMBudget.parse("30%").limit(415, None) == 124
    assert LLMBudget.parse(" 12.5 % ").limit(1_000, None) == 125
    assert LLMBudget.parse("$2.50").limit(10_000, 0.01) == 250
    assert LLMBudget.parse("$1,000").limit(10, 2.0) == 500
    assert str(LLMBudget.parse("30%")) == "30% of the documents"
    assert LLMBudget.parse("30%").per_document and not LLMBudget.parse("$2").per_document


@pytest.mark.parametrize("spec", ["lots", "-5", "30 calls", "$", "%", "150%", "2.5"])
def test_a_budget_that_means_nothing_is_refused_with_the_forms_it_could_take(spec: str) -> None:
    with pytest.raises(InputError, match="LLM budget"):
        LLMBudget.parse(spec)


def test_a_dollar_budget_without_a_measured_call_price_asks_for_calls_instead() -> None:
    with pytest.raises(InputError, match="give the budget in calls"):
        LLMBudget.parse("$3").limit(1_000, None)
