"""What every main screen (counter, reception, floor) does for the app: the status bar
(who, where, clock, connection, outbox, pending action), the offline banner, live changes,
and worker failures handed to the app's one handler."""

from __future__ import annotations

from textual.screen import Screen
from textual.worker import Worker

from console import present
from console.live import Change
from widgets.status_bar import OfflineBanner, StatusBar


class MainScreen(Screen):
    def place(self) -> tuple[str, str] | None:
        """(name, state) for the status bar, or None when repaint sets them."""
        return None

    def on_mount(self) -> None:
        bar = self.query_one(StatusBar)
        bar.user = self.app.me.person if self.app.me else ""
        if (place := self.place()) is not None:
            bar.counter, bar.counter_state = place
        self.set_status(self.app.connection)
        if self.app.unknowns is not None:
            self.set_unknown(list(self.app.unknowns.pending.values()))
        self.tick()
        self.set_interval(1, self.tick)
        self.set_interval(30, lambda: self.repaint(None))
        self.repaint(None)

    def tick(self) -> None:
        self.query_one(StatusBar).clock = present.hhmm(self.app.now())

    def set_status(self, status: str) -> None:
        bar = self.query_one(StatusBar)
        bar.silence = round(self.app.config.server.stream_silence)
        bar.connection = status
        self.query_one(OfflineBanner).set_state(status)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.app.on_worker_state_changed(event)  # StateChanged does not bubble

    def set_busy(self, label: str) -> None:
        self.query_one(StatusBar).busy = label

    def set_unknown(self, pending: list) -> None:
        """Actions sent and not yet answered (console/unknown.py): the first on the status
        bar (and how many more), their rows marked (see `mark_unknown`)."""
        text = present.unknown_text(pending[0]) if pending else ""
        if len(pending) > 1:
            text += f" (+{len(pending) - 1})"
        self.query_one(StatusBar).unknown = text
        self.mark_unknown({p.visit_id for p in pending if p.visit_id is not None})

    def mark_unknown(self, visits: set[int]) -> None:
        """Mark the rows of visits whose action waits for its answer (screens with a
        queue table override this)."""

    def set_outbox(self, pending: int, rejected: int) -> None:
        bar = self.query_one(StatusBar)
        bar.pending, bar.rejected = pending, rejected

    def show_slip(self, what: tuple, text: str) -> None:
        """A new ticket or booking (reception keeps it on screen; here a notice)."""
        self.app.notify(text, timeout=20)

    def apply(self, change: Change) -> None:
        self.repaint(None if change.reloaded else change.visits)

    def repaint(self, changed: set[int] | None) -> None:
        raise NotImplementedError
