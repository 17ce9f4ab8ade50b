"""Logging that never carries a CPR number, whatever a message or its arguments hold."""

from __future__ import annotations

import logging
import re

_CPR = re.compile(r"(?<!\d)(\d{6})-?(\d{4})(?!\d)")


def scrub(text: str) -> str:
    return _CPR.sub(r"\1-XXXX", text)


class RedactCpr(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # scrub the message and each argument in place, keeping their shape (uvicorn's
        # access formatter unpacks its arguments)
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: scrub(v) if isinstance(v, str) else v
                           for k, v in record.args.items()}
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_FILTER = RedactCpr()


def install() -> None:
    """Put the filter on every handler we and uvicorn log through."""
    f = _FILTER
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "skranke"):
        logger = logging.getLogger(name)
        if f not in logger.filters:
            logger.addFilter(f)
        for h in logger.handlers:
            h.addFilter(f)
