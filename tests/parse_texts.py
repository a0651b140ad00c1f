"""Parse texts with the trained model as Rasa is, then again with the runtime fixes of
``bot.rasa_server`` applied, and write both as JSON (in a process of its own, so that no other
test's fixes are in place for the first pass; the fixes patch classes, so they reach the model
already loaded).

    python -m tests.parse_texts MODEL TEXTS.json OUT.json
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path


def main() -> None:
    model, texts_path, out_path = sys.argv[1:4]
    from rasa.core.agent import Agent

    texts = json.loads(Path(texts_path).read_text(encoding="utf-8"))
    agent = Agent.load(model)

    async def parse_all() -> list[dict]:
        return [await agent.parse_message(text) for text in texts]

    plain = asyncio.run(parse_all())
    from bot.rasa_server import apply_fixes

    apply_fixes()
    fixed = asyncio.run(parse_all())
    Path(out_path).write_text(json.dumps({"plain": plain, "fixed": fixed}), encoding="utf-8")


if __name__ == "__main__":
    main()
