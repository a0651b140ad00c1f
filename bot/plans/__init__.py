"""Plan engine: repayment proposals for cardholders in arrears (no Rasa import).

    from bot.plans import load_policy, propose, PlanError, PolicyError, DEFAULT_POLICY_PATH
    policy = load_policy()                      # policy/plans.yml; load_policy(path) for another
    result = propose(case, policy, as_of=None)  # CASE.json-shaped dict -> contract output dict

The contract (field names, command line) is docs/plan_engine.md.
"""

from .errors import PlanError, PolicyError
from .policy import DEFAULT_POLICY_PATH, Policy, load_policy
from .propose import propose

__all__ = ["DEFAULT_POLICY_PATH", "PlanError", "Policy", "PolicyError", "load_policy", "propose"]
