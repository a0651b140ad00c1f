"""Bot messages in Rasa's own socket.io format, for clients of Rasa's protocol (rasa-webchat 1.x
and the like) that connect to the widget channel.

The project's widget takes one event per message with text, buttons and ``custom`` together
(plan cards, who wrote it). rasa-webchat draws a message only when its keys are exactly
``text``, or ``text`` with ``quick_replies``/``buttons``, or an ``attachment``; anything else is
silently dropped. So for those clients each message is reshaped the way Rasa's
``SocketIOOutput`` sends it: buttons as ``quick_replies``, the plan card's folded terms and the
specialist's name written into the text, never a key they would not draw. rasa-webchat reads
text as Markdown, where a single line break is a space: lines stay lines as Markdown hard breaks.
"""

from __future__ import annotations

import re
from typing import Any

LINE_BREAK = re.compile(r"(?<!\n)\n(?!\n)")


def quick_replies(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"content_type": "text", "title": str(b.get("title", "")), "payload": b.get("payload")}
        for b in buttons
        if isinstance(b, dict)
    ]


def rasa_messages(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The events Rasa's socket.io channel would send for this widget message."""
    custom = message.get("custom") if isinstance(message.get("custom"), dict) else {}
    text = str(message.get("text") or "")
    if custom.get("author") == "specialist" and text:
        name = custom.get("specialist")
        text = f"【人工专员{' ' + str(name) if name else ''}】{text}"
    if isinstance(custom.get("details"), str) and custom["details"]:
        text = f"{text}\n\n{custom['details']}" if text else custom["details"]
    text = LINE_BREAK.sub("  \n", text)
    out: list[dict[str, Any]] = []
    buttons = message.get("buttons") or message.get("quick_replies")
    if buttons:
        out.append({"text": text, "quick_replies": quick_replies(buttons)})
    elif text:
        out.append({"text": text})
    if message.get("image"):
        out.append({"attachment": {"type": "image", "payload": {"src": message["image"]}}})
    if message.get("attachment"):
        out.append({"attachment": message["attachment"]})
    return out
