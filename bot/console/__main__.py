"""``python -m bot.console --port 5006``: the specialists' console on 127.0.0.1."""

from __future__ import annotations

import argparse
import sys

from bot.console.app import create_app
from bot.db.store import Store
from bot.plans import load_policy
from bot.privacy import install_log_masking
from bot.settings import load_settings

DEFAULT_PORT = 5006


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="专员控制台 / specialists' console")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--access-log", action="store_true")
    parser.add_argument("--policy", help="plan policy YAML (default policy/plans.yml)")
    args = parser.parse_args(argv)
    install_log_masking()  # before anything logs: card and ID digits never reach the logs
    store = Store.from_url(load_settings().database_url)
    store.create_schema()
    policy = load_policy(args.policy) if args.policy else None
    app = create_app(store, name="specialist_console", policy=policy)
    print(f"专员控制台 / console: http://127.0.0.1:{args.port}/", flush=True)
    app.run(host="127.0.0.1", port=args.port, workers=1, access_log=args.access_log,
            debug=False, auto_reload=False)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
