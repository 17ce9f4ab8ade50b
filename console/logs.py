"""The console's support log: rotated, under platformdirs' log folder, without personal
data or tokens (every record passes a filter that masks CPR numbers and tokens)."""

from __future__ import annotations

import logging
import re
from logging.handlers import RotatingFileHandler
from pathlib import Path

import platformdirs

_CPR = re.compile(r"(?<!\d)(\d{6})-?(\d{4})(?!\d)")
_TOKEN = re.compile(r"skr_[A-Za-z0-9_\-]{8,}")


def scrub(text: str) -> str:
    return _TOKEN.sub("skr_***", _CPR.sub(r"\1-XXXX", text))


class Scrub(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def log_path() -> Path:
    return platformdirs.user_log_path("skranke", appauthor=False) / "skranke.log"


def setup(path: Path | None = None, level: int = logging.INFO) -> Path:
    """Send the `skranke` loggers to the rotating support log (1 MB × 5 files)."""
    path = path or log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Scrub())
    logger = logging.getLogger("skranke")
    logger.setLevel(level)
    for old in [h for h in logger.handlers if isinstance(h, RotatingFileHandler)]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    return path
