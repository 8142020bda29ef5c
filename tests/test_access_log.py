"""Access logs carry no token of a URL (pay links, invitations, `token=`)."""

import logging

from app.core.access_log import RedactTokens, redact


def _access_record(path: str) -> logging.LogRecord:
    # As uvicorn logs it: '%s - "%s %s HTTP/%s" %d'.
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )


def test_tokens_in_paths_and_queries_are_redacted() -> None:
    assert redact("/pay/AbC-123_x") == "/pay/[redacted]"
    assert redact("/pay/AbC-123_x/pdf") == "/pay/[redacted]/pdf"
    assert redact("/v1/pay/AbC/checkout") == "/v1/pay/[redacted]/checkout"
    assert redact("/pay/AbC?status=paid") == "/pay/[redacted]?status=paid"
    assert redact("/v1/invitations/s3cr3t/accept") == "/v1/invitations/[redacted]/accept"
    assert redact("/portal/login?token=s3cr3t&x=1") == "/portal/login?token=[redacted]&x=1"
    assert redact("/v1/teams/abc/clients?limit=5") == "/v1/teams/abc/clients?limit=5"


def test_the_app_installs_the_filter_on_uvicorns_access_log(app) -> None:
    logger = logging.getLogger("uvicorn.access")
    [installed] = [f for f in logger.filters if isinstance(f, RedactTokens)]
    record = _access_record("/pay/very-secret-token?status=paid")
    assert installed.filter(record)
    message = record.getMessage()
    assert "very-secret-token" not in message
    assert '"GET /pay/[redacted]?status=paid HTTP/1.1" 200' in message
