"""Two base URLs: the API's (pay pages, provider callbacks) and the front end's
(invitation and portal links), both defaulting to where `hourline serve` listens, with
`PUBLIC_BASE_URL` kept as a deprecated alias for both."""

import logging

import pytest

from app.cli import serve_url
from app.config import Settings


def test_each_link_kind_has_its_own_base() -> None:
    s = Settings(public_api_url="https://api.example.com/", frontend_url="https://app.example.com")
    assert s.api_url == "https://api.example.com"
    assert s.front_url == "https://app.example.com"


def test_both_default_to_where_serve_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PUBLIC_API_URL", "FRONTEND_URL", "PUBLIC_BASE_URL", "SERVE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert Settings(_env_file=None).api_url == "http://127.0.0.1:8000"  # type: ignore[call-arg]
    monkeypatch.setenv("SERVE_URL", serve_url("0.0.0.0", 9000))
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.api_url == s.front_url == "http://localhost:9000"
    assert serve_url("::1", 8000) == "http://[::1]:8000"
    assert serve_url("10.0.0.5", 80) == "http://10.0.0.5:80"


def test_public_base_url_is_a_deprecated_alias(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hourline"):
        s = Settings(public_base_url="https://old.example.com/")
    assert s.api_url == s.front_url == "https://old.example.com"
    assert "PUBLIC_BASE_URL is deprecated" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hourline"):
        s = Settings(public_base_url="https://old.example.com", frontend_url="https://app.x")
    assert s.front_url == "https://app.x" and s.api_url == "https://old.example.com"
    assert "deprecated" in caplog.text  # still used for the API's links
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hourline"):
        Settings(public_api_url="https://api.x", frontend_url="https://app.x")
    assert "deprecated" not in caplog.text
