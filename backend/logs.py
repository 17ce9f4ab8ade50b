"""Logging that never carries a CPR number, whatever a message or its arguments hold."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

_CPR = re.compile(r"(?<!\d)(\d{6})-?(\d{4})(?!\d)")
#: Six digits in a row: what every CPR number holds (a quick look before the full pattern;
#: the same `\d`, so it misses nothing the pattern would find).
_SIX = re.compile(r"\d{6}")


def scrub(text: str) -> str:
    if "%" in text or "+" in text:
        # a query string may hide one percent-encoded (010190%2D1234, %30%31…): the line is
        # logged decoded when the decoded text holds one
        decoded = unquote_plus(text)
        if decoded != text and _SIX.search(decoded) and _CPR.search(decoded):
            text = decoded
    return _CPR.sub(r"\1-XXXX", text) if _SIX.search(text) else text


class RedactCpr(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # once per record: it is on the logger and on its handlers (an access log line was
        # scrubbed twice, 80 µs a request with the pattern run on each of its parts)
        if getattr(record, "_cpr_scrubbed", False):
            return True
        record._cpr_scrubbed = True
        # scrub the message and each argument in place, keeping their shape (uvicorn's
        # access formatter unpacks its arguments); first one look at all of their text
        args = record.args
        values = args.values() if isinstance(args, dict) else args or ()
        texts = [v for v in (record.msg, *values) if isinstance(v, str)]
        joined = "\n".join(texts)
        if texts and (_SIX.search(joined) or "%" in joined):
            if isinstance(record.msg, str):
                record.msg = scrub(record.msg)
            if isinstance(args, tuple):
                record.args = tuple(scrub(a) if isinstance(a, str) else a for a in args)
            elif isinstance(args, dict):
                record.args = {k: scrub(v) if isinstance(v, str) else v
                               for k, v in args.items()}
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
