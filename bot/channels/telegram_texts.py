"""Fixed replies of the Telegram channel's own account-link commands (``/link``, ``/unlink``),
and the label of a plan card's "details" button.

Written in Simplified Chinese like domain.yml's responses and converted to the cardholder's
script the same way (bot.nlg.localise_message). A success names only the card's last four
digits, the one detail that tells the cardholder which card was linked: nothing else about the
account is shown outside a verified conversation turn.
"""

from __future__ import annotations

from typing import Any

from bot.nlg import localise_message

LINK_DONE = (
    "已将您的Telegram账号与尾号{card_last4}的信用卡关联。以后在这里咨询账户问题时，"
    "不需要再输入卡号和身份证后四位。如果想解除关联，请发送 /unlink。"
)
LINK_INVALID = (
    "这个关联码不正确或已经过期（关联码10分钟内有效，只能使用一次）。"
    "请核对银行App或短信里的关联码后重新发送，例如：/link 12345678。"
    "也可以直接告诉我卡号和身份证后四位来核实身份，或者说“转人工”。"
)
LINK_LOCKED = (
    "关联码输错的次数较多，为了保护您的账户安全，请一小时后再试。"
    "您也可以直接告诉我卡号和身份证后四位来核实身份，或者说“转人工”。"
)
LINK_HOW = "请在 /link 后面加上银行App或短信里的8位关联码，例如：/link 12345678。"
UNLINKED = "已解除您的Telegram账号与信用卡的关联。以后咨询账户问题时，需要重新核实身份。"
NOT_LINKED = "您的Telegram账号目前没有关联信用卡，不需要解除。"
# Under a plan card: its full terms, sent as a message of their own when pressed.
DETAILS_BUTTON = "查看详情"


def link_text(template: str, script: str | None, **values: Any) -> str:
    """One of the texts above, filled, in the cardholder's script."""
    return localise_message({"text": template.format(**values)}, script)["text"]
