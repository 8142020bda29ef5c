"""Every environment variable Hourline reads, in one place."""

import ipaddress
import logging
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger("hourline")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Where embedded PostgreSQL, Redis and the mail sink keep their data.
    hourline_home: Path = Path(".hourline")

    # External services; unset means "start the embedded one" (hourline serve) or
    # "use the embedded one" (tests), see app/core/embedded.py.
    database_url: str | None = None
    redis_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = "Hourline <no-reply@hourline.local>"

    # Signs access tokens and keys the API-key hash. Embedded mode generates one
    # under HOURLINE_HOME when unset; production must set it.
    secret_key: str | None = None
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_days: int = 30
    invitation_ttl_days: int = 7

    # Where the API is reached from outside: pay pages, provider callbacks and returns.
    public_api_url: str | None = None
    # Where the single-page front end lives: invitation and portal login links.
    frontend_url: str | None = None
    # Deprecated: both of the above at once (a warning is logged when it is used).
    public_base_url: str | None = None
    # What `hourline serve` listens on (it sets this): the default of both URLs above.
    serve_url: str = "http://127.0.0.1:8000"

    login_rate_limit_per_email: int = 10
    login_rate_limit_per_ip: int = 50
    login_rate_limit_window_seconds: int = 900

    # The client portal: how long a signed-in contact stays signed in, and how many login
    # links an address and a client address may ask for per window (silently capped).
    portal_session_hours: int = 12
    portal_link_rate_limit_per_email: int = 5
    portal_link_rate_limit_per_ip: int = 20
    portal_link_rate_limit_window_seconds: int = 900

    idempotency_ttl_seconds: int = 24 * 3600

    # Comma-separated addresses or networks of the reverse proxies in front of the API.
    # Only a request from one of them may say, by X-Forwarded-For/-Proto, who the client
    # is (the per-IP login limit counts that address). Empty: no forwarded header counts.
    trusted_proxies: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        """Refuse a typo at start-up: uvicorn would take it as a host name, silently."""
        for item in filter(None, (part.strip() for part in value.split(","))):
            ipaddress.ip_network(item)  # an address or a network (no host bits set), as uvicorn
        return value

    # argon2 cost; tests lower it, production keeps the library's defaults.
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536

    # Run the arq worker inside the API process (the embedded default).
    run_worker: bool = False

    db_pool_size: int = Field(default=10, ge=1)
    # How long opening a connection may take (a server that is down refuses at once; one
    # that hangs or is unreachable would otherwise hold the request for asyncpg's 60 s).
    db_connect_timeout_seconds: float = Field(default=5, gt=0)
    log_level: str = "INFO"

    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None

    # Outgoing webhooks (docs/webhooks.md). A target that resolves to a loopback, private,
    # link-local, multicast or reserved address is refused unless this is true (for
    # development and tests only).
    webhook_allow_private_targets: bool = False
    # Set by `hourline serve` when it starts the local webhook echo beside its mail sink
    # (app/core/embedded.py): deliveries to exactly that origin are allowed, loopback as it
    # is; nothing else private is.
    webhook_echo_url: str | None = None
    # Seconds between a failed attempt and the next one; after the last, the delivery is
    # `failed`. Comma-separated (`5,300,1800,...`); tests compress it to seconds.
    webhook_retry_schedule: str = "5,300,1800,7200,18000,36000,36000"
    webhook_timeout_seconds: float = Field(default=10, gt=0)

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        """Refuse a malformed schedule at start-up, not at the first failed delivery."""
        steps = [part.strip() for part in value.split(",") if part.strip()]
        if any(float(step) < 0 for step in steps):
            raise ValueError("retry delays are seconds, not negative")
        return value

    @property
    def webhook_retry_delays(self) -> list[float]:
        """The retry schedule in seconds: the delay after failed attempt 1, 2, ..."""
        return [float(p) for p in self.webhook_retry_schedule.split(",") if p.strip()]

    # The event stream (`GET /events` with `Accept: text/event-stream`, docs/events.md):
    # a comment line this often keeps proxies open (and re-checks the credentials);
    # open streams per user (or API key) and per team, counted across every API process.
    event_stream_keepalive_seconds: float = Field(default=15, gt=0)
    event_streams_per_user: int = Field(default=5, ge=1)
    event_streams_per_team: int = Field(default=20, ge=1)

    crypto_api_base: str | None = None
    crypto_api_key: str | None = None
    crypto_webhook_secret: str | None = None

    @property
    def api_url(self) -> str:
        """The API's public base URL, without a trailing slash."""
        return _base(self.public_api_url or self.public_base_url or self.serve_url)

    @property
    def front_url(self) -> str:
        """The front end's base URL, without a trailing slash."""
        return _base(self.frontend_url or self.public_base_url or self.serve_url)

    @model_validator(mode="after")
    def _deprecated_base_url(self) -> "Settings":
        if self.public_base_url and not (self.public_api_url and self.frontend_url):
            log.warning(
                "PUBLIC_BASE_URL is deprecated: set PUBLIC_API_URL (this API, for pay pages "
                "and provider callbacks) and FRONTEND_URL (the front end, for invitation "
                "and portal links)"
            )
        return self

    @property
    def stripe_configured(self) -> bool:
        """True when a Stripe secret key is set."""
        return bool(self.stripe_secret_key)

    @property
    def crypto_configured(self) -> bool:
        """True when the crypto gateway's base URL and API key are set."""
        return bool(self.crypto_api_base and self.crypto_api_key)


def _base(url: str) -> str:
    return url.rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
