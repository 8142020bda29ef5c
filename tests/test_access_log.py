"""The access log: one line per request with its request id, and no token of a URL
(pay links, invitations, `token=`)."""

import logging

import pytest

from app.core.access_log import redact


def test_tokens_in_paths_and_queries_are_redacted() -> None:
    assert redact("/pay/AbC-123_x") == "/pay/[redacted]"
    assert redact("/pay/AbC-123_x/pdf") == "/pay/[redacted]/pdf"
    assert redact("/v1/pay/AbC/checkout") == "/v1/pay/[redacted]/checkout"
    assert redact("/pay/AbC?status=paid") == "/pay/[redacted]?status=paid"
    assert redact("/v1/invitations/s3cr3t/accept") == "/v1/invitations/[redacted]/accept"
    assert redact("/portal/login?token=s3cr3t&x=1") == "/portal/login?token=[redacted]&x=1"
    assert redact("/v1/teams/abc/clients?limit=5") == "/v1/teams/abc/clients?limit=5"


async def test_each_request_is_logged_once_with_its_id_and_without_its_token(
    client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="hourline.access"):
        r = await client.get("/pay/very-secret-token", params={"status": "paid"})
        other = await client.get("/v1/health", headers={"X-Request-ID": "my-id-42"})
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "hourline.access"]
    assert len(lines) == 2
    assert "very-secret-token" not in lines[0]
    assert '"GET /pay/[redacted]?status=paid" 404' in lines[0]
    assert lines[0].endswith(f"id={r.headers['x-request-id']}")
    assert '"GET /v1/health" 200' in lines[1] and lines[1].endswith("id=my-id-42")
    assert other.headers["x-request-id"] == "my-id-42"
