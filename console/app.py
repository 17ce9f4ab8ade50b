"""The Skranke console: the Textual app shell.

Starts with the setup screen when it has no token (or the backend refuses it), otherwise
asks the backend who the token is, loads the errand catalogue and opens the counter
screen; keeps the day live (LiveDay in a worker) and replays the offline outbox when the
backend is back. All I/O runs in workers; keyring and outbox calls off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from screens.main import MainScreen

from . import commands, errors, i18n, present
from .client import SkrankeClient, make_client
from .config import Config
from .i18n import _
from .live import Change, LiveDay
from .models import Me, Visit
from .outbox import OFFLINE_OK, Outbox, perform
from .presence import Heartbeat, pending_of
from .unknown import Unknowns

log = logging.getLogger("skranke.app")
TOLD_KEPT = 500
#: The name of the console's one thread for file work (see `on_mount`).
FILE_THREAD = "skranke-files"


class SkrankeApp(App):
    TITLE = "Skranke"
    SCOPES = ("app",)
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, config: Config, token: str | None, *, outbox_path: Path | None = None,
                 now: Callable[[], datetime] | None = None, first_run: bool = False,
                 token_note: str | None = None) -> None:
        super().__init__()
        self.config = config
        self.token = token
        self.first_run = first_run or not token
        self.token_note = token_note
        self.now = now or (lambda: datetime.now(present.TZ))
        self.outbox = Outbox(outbox_path)
        self.keys = commands.keys(config.keymap)
        self.client: SkrankeClient | None = None
        self.live: LiveDay | None = None
        self.unknowns: Unknowns | None = None  # actions sent and not yet answered
        self.heartbeat: Heartbeat | None = None  # tells the backend (and the floor) of them
        self._overdue_told: set[str] = set()
        self.me: Me | None = None
        self.errands = present.Errands({})
        self.connection = "connecting"
        self.theme = config.ui.theme
        #: the messages shown to the user lately (the last TOLD_KEPT, for tests and support)
        self.told: deque[str] = deque(maxlen=TOLD_KEPT)

    def notify(self, message: str, **kw: Any) -> None:
        self.told.append(message)
        super().notify(message, **kw)

    # --- start --------------------------------------------------------------------------------
    @property
    def model(self):
        return self.live.model

    def on_mount(self) -> None:
        # One thread for the console's file work (asyncio.to_thread: the outbox, the
        # keyring, an export): asyncio's default pool starts another thread each time two
        # calls overlap, up to cores + 4, and a soak cannot tell that from a leak.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=FILE_THREAD))
        self.set_keymap({k: v for k, v in self.config.keymap.items()})
        if self.first_run:
            self.open_setup(_("No secure keyring on this machine: write the token below (kept "
                              "in memory only), or start with SKRANKE_TOKEN=<token> skranke.")
                            if self.token_note else None)
        else:
            self.start(self.token)

    def open_setup(self, message: str | None = None) -> None:
        from screens.base import localized
        from screens.setup import SetupScreen

        if isinstance(self.screen, MainScreen):
            self.pop_screen()
        self.push_screen(localized(SetupScreen)(message))

    @work(exclusive=True, group="start")
    async def start(self, token: str) -> None:
        from screens.base import localized
        from screens.counter import CounterScreen
        from screens.floor import FloorScreen
        from screens.reception import ReceptionScreen

        if self.client is not None:
            await self.client.aclose()
        self.token, self.client = token, make_client(self.config, token)
        self.unknowns = Unknowns(self.client, self.on_unknowns, now=self.now,
                                 warn_after=self.config.server.unknown_warn)
        try:
            self.me = await self.client.me()
            self.errands = present.Errands({e["code"]: e for e in await self.client.errands()})
            self.live = LiveDay(self.client, self.on_day_change, self.on_connection)
            # the screen first (keys work at once), then the day's snapshot fills it
            main = {"reception": ReceptionScreen, "supervisor": FloorScreen}.get(
                self.me.role, CounterScreen)
            await self.push_screen(localized(main)())
            await self.live.reload()
        except errors.Unauthorised:
            self.open_setup(_("The backend did not accept the token: log in again."))
            return
        except errors.ApiError as exc:
            self.open_setup(_("The backend could not be asked: {why}").format(
                why=errors.said(exc)))
            return
        self.run_worker(self.live.run(snapshot=False), group="live", exclusive=True,
                        exit_on_error=False)
        self.heartbeat = Heartbeat(
            self.client, self.config.server.site,
            None if self.me.role in ("reception", "supervisor") else self.config.server.counter,
            lambda: pending_of(self.unknowns, self.ticket_of))
        self.run_worker(self.heartbeat.run(), group="presence", exclusive=True,
                        exit_on_error=False)
        self.set_interval(15, self.replay)
        self.replay()

    # --- live updates ---------------------------------------------------------------------------
    def on_day_change(self, change: Change) -> None:
        screen = self.main_screen()
        if screen is not None:
            screen.apply(change)

    def main_screen(self) -> MainScreen | None:
        """The counter, reception or floor screen under any dialogs: the one the app tells
        of changes, connection, outbox and waiting actions."""
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    def on_connection(self, status: str) -> None:
        self.connection = status
        screen = self.main_screen()
        if screen is not None:
            screen.set_status(status)
        if status == "online":
            self.replay()

    @work(group="outbox", exclusive=True, exit_on_error=False)
    async def replay(self) -> None:
        if self.client is None:
            return
        applied, rejected = await self.outbox.replay(self.client)
        pending = len(await asyncio.to_thread(self.outbox.pending))
        refused = len(await asyncio.to_thread(self.outbox.rejected))
        screen = self.main_screen()
        if screen is not None:
            screen.set_outbox(pending, refused)
        if applied:
            self.notify(_("{n} action(s) from the outbox sent.").format(n=applied))
        if rejected:
            self.notify(_("The backend refused {n} action(s) from the outbox: press u.")
                        .format(n=rejected), severity="error", timeout=15)

    # --- actions ----------------------------------------------------------------------------------
    def act(self, kind: str, label: str, method: str, path: str,
            body: Any = None) -> None:
        """Do an action in a worker; the answer lands in the model."""
        self.run_worker(self.act_now(kind, label, method, path, body), group="action",
                        exit_on_error=False)

    async def act_now(self, kind: str, label: str, method: str, path: str,
                      body: Any = None) -> dict[str, Any] | None:
        """The backend's answer; {"queued": True} when kept in the outbox; None when refused
        (the refusal is shown and the visit reloaded) or when the same action still waits
        for its answer (it is never sent twice under two keys).

        An action sent but not answered is unknown, not failed: it is shown as waiting and
        followed with its key to the real answer (console/unknown.py), which then lands
        here as if it had come at once."""
        assert self.client is not None and self.unknowns is not None
        waiting = self.unknowns.like(method, path)
        if waiting is not None:
            self.notify(_("{action} was sent at {time} and still waits for the server's "
                          "answer; it is not sent again.").format(
                action=waiting.label, time=present.hhmm(waiting.sent_at)),
                severity="warning", timeout=8)
            return None
        screen = self.main_screen()
        if screen is not None:
            screen.set_busy(label)
        key = str(uuid.uuid4())
        try:
            try:
                if kind in OFFLINE_OK:
                    answer = await perform(self.client, self.outbox, kind, label, method, path,
                                           body, key=key)
                    if answer is None:
                        self.notify(_("{action}: no connection, kept in the outbox.").format(
                            action=label), severity="warning")
                        self.replay()
                        return {"queued": True}
                else:
                    answer = await self.client.request(method, path, json=body, key=key)
            except errors.Unknown as exc:
                if screen is not None:
                    screen.set_busy("")
                answer = await self.unknowns.send(kind, label, method, path, body, key=key,
                                                  first=exc)
        except errors.ApiError as exc:
            self.refused(label, exc, path)
            return None
        finally:
            if screen is not None:
                screen.set_busy("")
        self.absorb(answer)
        return answer

    def on_unknowns(self) -> None:
        """The actions waiting for their answer changed: status bar and rows; an overdue
        one is told plainly, once."""
        pending = list(self.unknowns.pending.values()) if self.unknowns else []
        self._overdue_told &= {p.key for p in pending}  # answered: forgotten
        for p in pending:
            if p.overdue and p.key not in self._overdue_told:
                self._overdue_told.add(p.key)
                self.notify(present.unknown_text(p), severity="error", timeout=30)
        screen = self.main_screen()
        if screen is not None:
            screen.set_unknown(pending)
        if self.heartbeat is not None:
            self.heartbeat.poke()  # the floor learns of it at once

    def ticket_of(self, visit_id: int) -> str | None:
        v = self.live.model.visits.get(visit_id) if self.live is not None else None
        return v.ticket if v is not None else None

    def absorb(self, answer: Any) -> None:
        """Put a visit or counter from an answer into the model and repaint it."""
        if not isinstance(answer, dict) or self.live is None:
            return
        change = Change()
        visit = answer.get("visit") if "visit" in answer else answer
        if isinstance(visit, dict) and "ticket" in visit and "version" in visit:
            v = Visit.model_validate(visit)
            known = self.model.visits.get(v.id)
            if known is None or known.version <= v.version:
                self.model.add(v)
                change.visits.add(v.id)
        elif "number" in answer and "state" in answer and "version" in answer:
            from .models import Counter

            c = Counter.model_validate(answer)
            self.model.counters[c.id] = c
            change.counters.add(c.id)
        if change:
            self.on_day_change(change)

    def refused(self, label: str, exc: errors.ApiError, path: str) -> None:
        if isinstance(exc, errors.Conflict) and exc.code == "already_called" and exc.by_counter:
            text = _("Already called by {counter}.").format(counter=exc.by_counter)
        elif isinstance(exc, errors.CounterBusy):
            text = _("This counter already has a citizen: finish or requeue first.")
        elif isinstance(exc, errors.StaleVersion):
            text = _("Someone else changed this visit meanwhile; the screen now shows it.")
        elif isinstance(exc, errors.TooSoon):
            text = _("Too soon: wait {n} seconds before recalling.").format(n=exc.retry_after)
        elif isinstance(exc, errors.Offline):  # never sent: nothing happened
            text = _("No connection to the backend; this cannot wait in the outbox.")
        elif isinstance(exc, errors.Unauthorised):
            text = _("The backend no longer accepts the token: log in again.")
        elif isinstance(exc, errors.Forbidden):
            text = _("Not allowed: {why}").format(why=errors.said(exc))
        else:
            text = errors.said(exc)
        self.notify(f"{label}: {text}", severity="error", timeout=10)
        if path.startswith("/visits/") and self.client is not None:
            self.reload_visit(int(path.split("/")[2]))

    @work(group="action", exit_on_error=False)
    async def reload_visit(self, visit_id: int) -> None:
        try:
            v = await self.client.visit(visit_id)
        except errors.ApiError:
            return
        self.model.add(v)
        self.on_day_change(Change(visits={v.id}))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker failure ends here (screens forward theirs): told plainly, logged,
        the console goes on."""
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            log.error("worker %s failed: %r", event.worker.name, error)
            self.notify(_("Something went wrong: {why}. The console goes on; the support log "
                          "has the details.").format(why=type(error).__name__),
                        severity="error", timeout=10)
            if event.worker.group == "live" and self.live is not None:
                self.run_worker(self.live.run(), group="live", exclusive=True,
                                exit_on_error=False)

    # --- help, palette, outbox ------------------------------------------------------------------
    def _scopes(self) -> tuple[str, ...]:
        return tuple(getattr(self.screen, "SCOPES", ()))

    def action_help(self) -> None:
        from screens.help import help_screen

        self.push_screen(help_screen(self._scopes(), self.keys,
                                     self.me.role if self.me else "caseworker"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        role = self.me.role if self.me else "caseworker"
        for scope in (*getattr(screen, "SCOPES", ()), "app"):
            target = self if scope == "app" else screen
            for c in commands.for_scope(scope, role):
                if c.id == "palette":
                    continue
                name, _sep, _rest = c.action.partition("(")
                if target.check_action(name, ()) is False:
                    continue
                yield SystemCommand(f"{_(c.label)} ({commands.key_label(self.keys[c.id])})",
                                    _(c.help),
                                    lambda t=target, a=c.action: t.run_action(a))

    def action_command_palette(self) -> None:
        """Textual's palette, with its prompt in the console's language."""
        from textual.binding import Binding
        from textual.command import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            # its one shown key (escape) in the console's language too
            palette = type("CommandPalette", (CommandPalette,), {"BINDINGS": [
                b if b.key != "escape" else Binding("escape", "escape", _("Close"))
                for b in CommandPalette.BINDINGS]})
            self.push_screen(palette(id="--command-palette",
                                     placeholder=_("Search for commands…")))

    @work(group="dialog", exit_on_error=False)
    async def show_outbox(self) -> None:
        from screens.dialogs import choose

        rejected = await asyncio.to_thread(self.outbox.rejected)
        pending = await asyncio.to_thread(self.outbox.pending)
        if not rejected and not pending:
            self.notify(_("The outbox is empty."))
            return
        choices = [(f"r{a.id}", f"✘ {a.label}: {a.reason}") for a in rejected]
        choices += [(f"p{a.id}", f"… {a.label} ({present.hhmm(a.occurred_at)})")
                    for a in pending]
        picked = await self.push_screen_wait(choose(
            _("Outbox: choose a refused action to dismiss it"), choices))
        if picked and picked.startswith("r"):
            await asyncio.to_thread(self.outbox.dismiss, int(picked[1:]))
            self.replay()

    async def on_unmount(self) -> None:
        if self.heartbeat is not None:
            await self.heartbeat.goodbye()
        if self.client is not None:
            await self.client.aclose()


def make_app(config: Config, token: str | None, **kw: Any) -> SkrankeApp:
    """The app in the configured language (bindings and texts from the catalogues)."""
    from screens.base import localized

    i18n.use(config.ui.language)
    return localized(SkrankeApp)(config, token, **kw)
