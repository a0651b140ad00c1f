"""What the console shows for the codes the product stores: Chinese labels, in one place."""

from __future__ import annotations

from functools import lru_cache

from bot.handoff.rules import load_rules

RESUME_STEPS = {None: "从中断处继续", "propose_plans": "重新提出方案"}

REASON_LABELS = {
    "distress": "情绪危机",
    "request_human": "要求人工",
    "complaint": "投诉",
    "dispute": "债务异议",
    "identity_failed": "身份验证失败",
    "misunderstood": "助手未能理解",
    "plan_approval": "方案待审批",
    "no_plan_fits": "无合适方案",
    "technical": "技术问题",
    "payment_not_found": "未找到还款记录",
    "identity_card_locked": "卡片验证已锁定（多次核验失败）",
}
RULE_PREFIX = "rule:"  # a case opened by a rule of policy/handoff.yml: "rule:<name>"


def reason_label(reason: str) -> str:
    """The reason as a specialist reads it: a rule's own description from policy/handoff.yml
    (the bank's words), else the table; an unknown code as it is rather than nothing."""
    if reason.startswith(RULE_PREFIX):
        name = reason[len(RULE_PREFIX) :]
        description = _rule_descriptions().get(name)
        return f"规则：{description}" if description else f"规则：{name}"
    return REASON_LABELS.get(reason, reason)


@lru_cache(maxsize=1)
def _rule_descriptions() -> dict[str, str]:
    try:
        return {rule.name: rule.description for rule in load_rules()}
    except (OSError, ValueError):  # a broken rules file (RuleError too) keeps the queue
        return {}


OUTCOME_LABELS = {
    "promise_to_pay": "承诺还款",
    "plan_agreed": "达成还款方案",
    "dispute_opened": "已受理异议",
    "complaint_logged": "已登记投诉",
    "no_contact": "未能联系",
    "referred": "已转交其他部门",
    "resolved": "已解决",
}
STATUS_LABELS = {
    "open": "待领取",
    "claimed": "处理中",
    "returned": "已交还助手",
    "closed": "已结案",
}
AGREEMENT_LABELS = {
    "agreed": "已达成",
    "pending_approval": "待审批",
    "approved": "已批准",
    "rejected": "已拒绝",
}
