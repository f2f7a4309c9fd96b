"""The public benchmark instances: every policy's plan passes validate.py, and optimize beats the others."""

from __future__ import annotations

import pytest
from optimizer_instances import plan_for, public_instance, report

from radflow.scheduling.optimizer.engine import Policy


@pytest.mark.parametrize("name", ["small-1", "small-2"])
def test_public_instance_plans_validate_and_optimize_scores_highest(name: str) -> None:
    instance = public_instance(name)
    scores = {}
    for policy in Policy:
        _, document = plan_for(instance, policy, seconds=4.0)
        result = report(instance, document)
        assert result["valid"], result["violations"]
        scores[policy] = result["metrics"]["on_time_score"]
    assert scores[Policy.OPTIMIZE] > scores[Policy.GREEDY] > scores[Policy.FIRST_AVAILABLE]
