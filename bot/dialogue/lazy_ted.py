"""TED runs only when rules and remembered stories have not already decided the next action.

Rasa asks every policy for every prediction and keeps the most confident one; on a tie the
higher priority wins. A rule (RulePolicy, priority 6) or a remembered story (MemoizationPolicy,
priority 3) that is certain of an action scores 1.0, which TED (priority 1) can at best equal,
so TED's answer is thrown away. Most turns of this assistant are decided that way (forms,
fixed turns), and TED's inference was a quarter of the Rasa server's CPU per message
(bench/bench_rasa.py). Here the TED node of the loaded model also receives the other
policies' predictions and skips its inference when one of them already wins; otherwise it
predicts exactly as before. The trained model is unchanged: the rewrite happens at load time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.graph import GraphSchema
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

DECIDED_PREFIX = "decided_by_"
CERTAIN = 1.0


class LazyTEDPolicy(TEDPolicy):
    """TEDPolicy that receives the other policies' predictions (``decided_by_<node>``)."""

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        precomputations: Any = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        others = [value for key, value in kwargs.items() if key.startswith(DECIDED_PREFIX)]
        if self.can_be_skipped() and already_decided(tracker, domain, others):
            return self._prediction(self._default_predictions(domain))
        rest = {key: value for key, value in kwargs.items() if not key.startswith(DECIDED_PREFIX)}
        return super().predict_action_probabilities(
            tracker, domain, rule_only_data=rule_only_data, precomputations=precomputations, **rest
        )

    def can_be_skipped(self) -> bool:
        """A TED trained on story texts (end-to-end) can overrule any policy: never skip it."""
        return self.model is not None and TEXT not in self.fake_features


def rejected_action(tracker: DialogueStateTracker) -> str | None:
    """The action whose execution was just rejected (the ensemble zeroes it everywhere)."""
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecutionRejected):
            return event.action_name
        if isinstance(event, ActionExecuted):
            return None
    return None


def already_decided(
    tracker: DialogueStateTracker, domain: Domain, predictions: Iterable[PolicyPrediction]
) -> bool:
    """True when, by the ensemble's own rules, one of these predictions beats anything TED
    could say: a "no user" prediction, or certainty about an action that was not rejected."""
    rejected = rejected_action(tracker)
    rejected_index = domain.index_for_action(rejected) if rejected else None
    for prediction in predictions:
        if prediction.is_no_user_prediction:
            return True
        if prediction.is_end_to_end_prediction:
            continue  # outranks by kind, not by confidence: leave the decision to the ensemble
        probabilities = list(prediction.probabilities)
        if rejected_index is not None:
            probabilities[rejected_index] = 0.0
        if probabilities and max(probabilities) >= CERTAIN:
            return True
    return False


def with_lazy_ted(schema: GraphSchema) -> GraphSchema:
    """The same prediction graph, with each TED node fed the other policies' predictions."""
    nodes = dict(schema.nodes)
    policies = [
        name
        for name, node in nodes.items()
        if isinstance(node.uses, type)
        and issubclass(node.uses, Policy)
        and not issubclass(node.uses, TEDPolicy)
        and node.fn == "predict_action_probabilities"
    ]
    for name, node in schema.nodes.items():
        if node.uses is TEDPolicy and node.fn == "predict_action_probabilities":
            needs = {**node.needs, **{f"{DECIDED_PREFIX}{other}": other for other in policies}}
            nodes[name] = dataclasses.replace(node, uses=LazyTEDPolicy, needs=needs)
    return GraphSchema(nodes)
