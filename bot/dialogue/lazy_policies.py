"""Lower-priority policies run only when a higher-priority one has not already decided.

Rasa asks every policy for every prediction and keeps the most confident one; on a tie the
higher priority wins. A rule (RulePolicy, priority 6) or a remembered story (MemoizationPolicy,
priority 3) that is certain of an action scores 1.0, which a lower-priority policy can at best
equal, so its answer is thrown away. Most turns of this assistant are decided by rules (forms,
fixed turns), and TED's inference alone was a quarter of the Rasa server's CPU per message
(bench/bench_rasa.py). Here the TED and memoization nodes of the loaded model also receive the
predictions of the policies above them and skip their work when one of those already wins;
otherwise they predict exactly as before. The trained model is unchanged: the rewrite happens at
load time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from rasa.core.constants import POLICY_PRIORITY
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.graph import GraphSchema, SchemaNode
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

DECIDED_PREFIX = "decided_by_"
CERTAIN = 1.0


class LazyPolicy:
    """Mixed into a policy class: it also receives the predictions of the policies with a
    higher priority (``decided_by_<node>``) and skips its own when one of those wins."""

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
        return True


class LazyTEDPolicy(LazyPolicy, TEDPolicy):
    def can_be_skipped(self) -> bool:
        """A TED trained on story texts (end-to-end) can overrule any policy: never skip it."""
        return self.model is not None and TEXT not in self.fake_features


class LazyMemoizationPolicy(LazyPolicy, MemoizationPolicy):
    pass


LAZY = {TEDPolicy: LazyTEDPolicy, MemoizationPolicy: LazyMemoizationPolicy}


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


def priority_of(node: SchemaNode) -> int:
    return {**node.uses.get_default_config(), **node.config}[POLICY_PRIORITY]


def with_lazy_policies(schema: GraphSchema) -> GraphSchema:
    """The same prediction graph, with each TED and memoization node fed the predictions of the
    policies of a higher priority (so the graph runs those first)."""
    policies = {
        name: node
        for name, node in schema.nodes.items()
        if isinstance(node.uses, type)
        and issubclass(node.uses, Policy)
        and node.fn == "predict_action_probabilities"
    }
    nodes = dict(schema.nodes)
    for name, node in policies.items():
        lazy = LAZY.get(node.uses)
        if lazy is None:
            continue  # another policy, or one made lazy already
        above = [other for other, o in policies.items() if priority_of(o) > priority_of(node)]
        needs = {**node.needs, **{f"{DECIDED_PREFIX}{other}": other for other in above}}
        nodes[name] = dataclasses.replace(node, uses=lazy, needs=needs)
    return GraphSchema(nodes)
