"""The action server as the product runs it: rasa_sdk's own app, reachable only by Rasa.

rasa_sdk 3.6 listens on 0.0.0.0 and answers anyone; a hand-built ``POST /webhook`` could run any
action on any tracker. Here it binds 127.0.0.1 unless ``ACTION_SERVER_HOST`` names a private
address, sends no CORS headers (no browser has business there), and refuses every request but
``/health`` without the shared secret Rasa sends (``Authorization: Bearer $ACTION_SERVER_TOKEN``,
set in endpoints.yml).

    python -m bot.action_server --actions actions --port 5055
"""

from __future__ import annotations

import argparse
import logging

import rasa_sdk
from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.http_auth import bearer_matches
from bot.privacy import install_log_masking
from bot.settings import load_settings

logger = logging.getLogger(__name__)

# The rasa_sdk versions whose create_app/run this wraps (routes /health, /webhook, /actions).
WRITTEN_FOR_RASA_SDK = ("3.6.",)
OPEN_PATHS = ("/health",)


def check_version() -> None:
    if not rasa_sdk.__version__.startswith(WRITTEN_FOR_RASA_SDK):
        logger.warning(
            "bot.action_server was written for rasa_sdk %s; rasa_sdk %s is installed",
            "/".join(WRITTEN_FOR_RASA_SDK),
            rasa_sdk.__version__,
        )


def build_app(actions_package: str, token: str) -> Sanic:
    if not token:
        raise SystemExit("ACTION_SERVER_TOKEN is empty: the action server would answer anyone")
    app = create_app(actions_package, cors_origins=None)

    @app.on_request
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or bearer_matches(
            request.headers.get("authorization", ""), token
        ):
            return None
        return response.json({"error": "unauthorised"}, status=401)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the actions, reachable by Rasa only.")
    parser.add_argument("--actions", default="actions")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--interface", help="default: ACTION_SERVER_HOST, else 127.0.0.1")
    args = parser.parse_args(argv)
    install_log_masking()
    check_version()
    settings = load_settings()
    args.interface = args.interface or settings.action_server_host
    app = build_app(args.actions, settings.action_server_token)
    logger.info("action server on http://%s:%s", args.interface, args.port)
    app.run(args.interface, args.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
