"""The planner: an instruction in, a validated plan (data, never code) out."""

from falconer.planner.planner import Planner, PlanResult

__all__ = ["PlanResult", "Planner"]
