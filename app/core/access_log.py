"""Access logs never carry a secret of the URL: pay-link and invitation tokens in paths,
and `token=` in query strings, are logged as `[redacted]`."""

import logging
import re

# /pay/<token>, /v1/pay/<token>, /v1/invitations/<token>: the segment after them.
_IN_PATH = re.compile(r"(/(?:v1/)?(?:pay|invitations)/)[^/?#\s]+")
_IN_QUERY = re.compile(r"([?&]token=)[^&#\s]+")


def redact(target: str) -> str:
    return _IN_QUERY.sub(r"\1[redacted]", _IN_PATH.sub(r"\1[redacted]", target))


class RedactTokens(logging.Filter):
    """For uvicorn's access logger, whose record args are
    (client address, method, path with query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


def redact_access_log() -> None:
    """Install the filter on uvicorn's access logger (once per process)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())
