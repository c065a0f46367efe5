"""`coda serve`: the coding API (`app.api`) on the settings' address, served by uvicorn."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from app.settings import Settings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.api import create_app
    from app.cli_coder import open_cli_coder
    from app.cli_team import _case_store

    reasoner = "llm" if settings.chat_model_factory() is not None else "offline"
    coder = open_cli_coder(settings, reasoner)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with _case_store(settings) as store:
        app = create_app(coder, store, settings.api_calls_per_minute)
        print(
            f"Coda coding API on http://{settings.server_address}:{args.port} (docs at /docs; "
            "a TLS reverse proxy in front for anything but this machine)",
            flush=True,
        )
        # No access log: the API logs each call itself, with the account and never the note.
        uvicorn.run(app, host=settings.server_address, port=args.port, access_log=False, log_level="warning")
    return 0


def add_api_command(sub: Any) -> None:
    serve = sub.add_parser("serve", help="the coding API for the EHR and other programs (OpenAPI docs at /docs)")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)
