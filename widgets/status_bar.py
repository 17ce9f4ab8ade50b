"""The status bar: counter, user, clock and connection (with the outbox), in words."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from console.i18n import N_, _

CONNECTION = {"online": ("●", N_("Online")), "connecting": ("○", N_("Connecting")),
              "reconnecting": ("◐", N_("Reconnecting")), "offline": ("✘", N_("Offline")),
              "silent": ("◐", N_("No answer from the server for {n} s"))}


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """
    counter: reactive[str] = reactive("")
    counter_state: reactive[str] = reactive("")
    user: reactive[str] = reactive("")
    clock: reactive[str] = reactive("")
    connection: reactive[str] = reactive("connecting")
    pending: reactive[int] = reactive(0)
    rejected: reactive[int] = reactive(0)
    #: the action waiting for the backend's answer, shown at once so a key press is seen
    busy: reactive[str] = reactive("")
    #: actions sent and not yet answered, in words (console/present.py unknown_text)
    unknown: reactive[str] = reactive("")
    #: seconds of silence on the event stream that make the server "silent"
    silence: reactive[int] = reactive(12)

    def render(self) -> Text:
        symbol, word = CONNECTION.get(self.connection, ("?", self.connection))
        text = Text.assemble((self.counter, "bold"), f" ({self.counter_state})  ·  ",
                             self.user, "  ·  ", self.clock, "  ·  ",
                             f"{symbol} {_(word).format(n=self.silence)}")
        if self.unknown:
            text.append(f"  ·  ⧗ {self.unknown}", style="bold reverse")
        if self.busy:
            text.append(f"  ·  ⧗ {self.busy} …", style="bold")
        if self.pending:
            text.append("  ·  " + _("{n} waiting in the outbox").format(n=self.pending))
        if self.rejected:
            text.append("  ·  " + _("{n} refused by the backend (u)").format(n=self.rejected),
                        style="bold reverse")
        return text


class OfflineBanner(Static):
    """Shown while the backend cannot be reached."""

    DEFAULT_CSS = """
    OfflineBanner { height: auto; background: $error; color: $text; padding: 0 1;
                    text-style: bold; display: none; }
    OfflineBanner.-shown { display: block; }
    """

    def set_state(self, connection: str) -> None:
        shown = connection in ("offline", "reconnecting")
        self.set_class(shown, "-shown")
        if shown:
            self.update("✘ " + _("No connection to the backend: finish, no-show, documents, "
                                 "notes and park are kept in the outbox and sent when it is "
                                 "back; calling is not possible."))
