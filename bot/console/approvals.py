"""Who may decide a plan application and who may close a case: the console's rules in one place.

Deciding an application (``POST /api/applications/{reference}/decision``). The *negotiator* is
whoever claimed the latest case of the application's conversation (holding it now, or having
handed it back or closed it).

- ``approval.four_eyes: false`` (policy/plans.yml): the specialist holding the case, or a
  supervisor, approves or rejects.
- ``approval.four_eyes: true``: rejecting stays as above. Approving is never done by the
  negotiator, not even a supervisor on their own case; any other supervisor may approve, and so
  may any other specialist once a person has negotiated it (the case was claimed). An
  application no person has looked at yet is claimed first, and then approved by someone else.

Closing a case: only the specialist who claimed it, or a supervisor unless another specialist
holds it right now (``Cases.close`` enforces the same rule in the database).
"""

from __future__ import annotations

from bot.console.sessions import Principal
from bot.plans import Policy, load_policy

FOUR_EYES_MESSAGE = "按规定，审批需由另一位专员或主管完成"
CLAIM_FIRST_MESSAGE = "请先领取该客户的案件再审批"
CLOSE_MESSAGE = "只有处理该案件的专员或主管可以结案"


def four_eyes(policy: Policy | None = None) -> bool:
    """The policy's four-eyes switch (policy/plans.yml unless another policy is given)."""
    return (policy or load_policy()).approval.four_eyes


def decision_refusal(
    user: Principal,
    negotiator: int | None,
    case_status: str | None,
    approve: bool,
    four_eyes_required: bool,
) -> str | None:
    """Why ``user`` may not make this decision (shown to them), or None when they may."""
    if approve and four_eyes_required:
        if negotiator == user.id:
            return FOUR_EYES_MESSAGE
        if user.is_supervisor or negotiator is not None:
            return None
        return CLAIM_FIRST_MESSAGE
    if user.is_supervisor or (case_status == "claimed" and negotiator == user.id):
        return None
    return CLAIM_FIRST_MESSAGE


def may_review(
    user: Principal, claimed_by: int | None, pending: bool, four_eyes_required: bool
) -> bool:
    """A specialist may open another's case to approve its pending application (four eyes)."""
    return four_eyes_required and pending and claimed_by is not None and claimed_by != user.id


def may_close(user: Principal, status: str, claimed_by: int | None) -> bool:
    """The claimant, or a supervisor unless another specialist holds the case right now."""
    if status == "closed":
        return False
    if claimed_by is not None and claimed_by == user.id:
        return True
    return user.is_supervisor and status != "claimed"
