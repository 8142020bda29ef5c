"""A real `hourline worker` process, for the tests that kill one mid-job."""

import asyncio
import os
import sys
from pathlib import Path

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent


async def start_worker(
    settings: Settings, log_path: Path, **env: str
) -> asyncio.subprocess.Process:
    """`python -m app.cli worker` against the test services; its log goes to `log_path`
    (a file, not a pipe nobody reads). `env` adds settings, e.g. WEBHOOK_ALLOW_PRIVATE_TARGETS."""
    environment = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "SMTP_URL": settings.smtp_url or "",
        "SECRET_KEY": settings.secret_key or "",
        **env,
    }
    with log_path.open("ab") as log:
        return await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "app.cli", "worker"),
            cwd=ROOT,
            env=environment,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
