"""Logging that never carries a CPR number, whatever a message or its arguments hold."""

from __future__ import annotations

import logging
import re

_CPR = re.compile(r"(?<!\d)(\d{6})-?(\d{4})(?!\d)")


def scrub(text: str) -> str:
    return _CPR.sub(r"\1-XXXX", text)


class RedactCpr(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is still logged, scrubbed
            message = str(record.msg)
        record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install() -> None:
    """Put the filter on every handler we and uvicorn log through."""
    f = RedactCpr()
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "skranke"):
        logger = logging.getLogger(name)
        if f not in logger.filters:
            logger.addFilter(f)
        for h in logger.handlers:
            h.addFilter(f)
