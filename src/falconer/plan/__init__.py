"""The plan language: steps (get_label / get_span), a document filter, output fields. Data only."""

from falconer.plan.expressions import Expression, PlanSyntaxError, evaluate, parse_expression
from falconer.plan.schema import Plan, PlanValidationError, Step

__all__ = [
    "Expression",
    "Plan",
    "PlanSyntaxError",
    "PlanValidationError",
    "Step",
    "evaluate",
    "parse_expression",
]
