"""Failed authentications counted per client address, in rows (DESIGN.md rule 7: every
process on the database sees the same counts), and the wait a client is told after a burst.

A window opens at a client's first failure; once `allowed` failures fall in it, the client
is refused (429, Retry-After) until the window has passed, before its token is even looked
up, so guessing stays as slow as the window says."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ..storage.models import AuthFailureRow


def _wait(row: AuthFailureRow | None, now: datetime, allowed: int, window: int) -> int | None:
    if row is None or row.count < allowed:
        return None
    end = row.window_start + timedelta(seconds=window)
    if end <= now:
        return None
    return max(1, math.ceil((end - now).total_seconds()))


def retry_after(session: Session, client: str, now: datetime, allowed: int, window: int
                ) -> int | None:
    """Seconds the client must wait before it may try a token again, or None."""
    return _wait(session.get(AuthFailureRow, client), now, allowed, window)


def record(session: Session, client: str, now: datetime, allowed: int, window: int
           ) -> tuple[int, int | None]:
    """Count one failure; the failures in the window and the wait it now brings."""
    row = session.get(AuthFailureRow, client)
    if row is None:
        row = AuthFailureRow(client=client, window_start=now, count=1)
        session.add(row)
    elif row.window_start + timedelta(seconds=window) <= now:
        row.window_start, row.count = now, 1
    else:
        row.count += 1
    return row.count, _wait(row, now, allowed, window)


def purge(session: Session, now: datetime, window: int) -> int:
    """Forget windows that have passed (a client's address is no one's business later)."""
    cut = now - timedelta(seconds=window)
    return session.execute(delete(AuthFailureRow).where(AuthFailureRow.window_start < cut)
                           ).rowcount or 0
