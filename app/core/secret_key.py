"""The server secret: SECRET_KEY, or one generated once and kept under HOURLINE_HOME."""

import logging
import secrets

from app.config import Settings

log = logging.getLogger(__name__)


def resolve_secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.hourline_home / "secret_key"
    if path.exists():
        return path.read_text().strip()
    # The embedded default's first start (production refuses to start without one).
    log.info("SECRET_KEY is unset; generated one in %s (set it in production)", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
