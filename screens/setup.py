"""First run: backend URL, site, counter and token, checked against the backend before
anything is saved (the settings to the user's config.toml, the token to the OS keyring)."""

from __future__ import annotations

import asyncio

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input

from console import credentials, errors, present
from console.client import make_client
from console.config import Config, ConfigError, save_settings
from console.i18n import _
from screens.base import Line
from widgets.key_footer import KeyFooter


class SetupScreen(Screen):
    SCOPES = ()
    DEFAULT_CSS = """
    SetupScreen { align: center middle; }
    SetupScreen > Vertical { width: 84; max-width: 100%; height: auto; border: thick $primary;
                             padding: 0 2; background: $surface; }
    SetupScreen .title { text-style: bold; margin-bottom: 1; }
    SetupScreen Label.field { margin-top: 1; }
    SetupScreen #message { color: $error; margin-top: 1; width: 100%; }
    SetupScreen .hint { width: 100%; }
    SetupScreen .hint { color: $text-muted; margin-top: 1; }
    SetupScreen.-short .title { margin-bottom: 0; }
    SetupScreen.-short Label.field { margin-top: 0; }
    """

    def __init__(self, message: str | None = None) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        s = self.app.config.server
        with Vertical():
            yield Line(_("Skranke: set up this counter"), classes="title")
            yield Line(_("Backend URL"), classes="field")
            yield Input(s.url, id="url")
            yield Line(_("Site"), classes="field")
            yield Input(s.site, id="site")
            yield Line(_("Counter number"), classes="field")
            yield Input(str(s.counter), id="counter", type="integer")
            yield Line(_("Token (from skranke-server token create)"), classes="field")
            yield Input(self.app.token or "", password=True, id="token")
            yield Line(self.message or "", id="message")
            yield Line(_("Enter moves on and, in the last field, checks with the backend "
                          "before anything is saved."), classes="hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False  # steady: calmer, and stable in snapshots
        self.query_one("#token" if self.app.config.server.url else "#url", Input).focus()

    def on_resize(self, event) -> None:
        """Under 30 rows (80×24) the fields close up, so the form and its message fit."""
        self.set_class(event.size.height < 30, "-short")
        self.call_after_refresh(self._in_sight)

    def _in_sight(self) -> None:
        self.query_one("#message", Line).scroll_visible(animate=False)
        if self.focused is not None:
            self.focused.scroll_visible(animate=False)

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        """Enter moves to the next empty field; with every field filled it checks (so a
        corrected URL is tried again at once)."""
        order = ["url", "site", "counter", "token"]
        here = order.index(event.input.id)
        empty = [f for f in order[here + 1:] + order[:here]
                 if not self.query_one(f"#{f}", Input).value.strip()]
        if empty:
            self.query_one(f"#{empty[0]}", Input).focus()
        else:
            self.check()

    def say(self, text: str) -> None:
        self.query_one("#message", Line).update(text)
        self.call_after_refresh(self._in_sight)

    @work(exclusive=True, group="setup", exit_on_error=False)
    async def check(self) -> None:
        values = {i.id: i.value.strip() for i in self.query(Input)}
        try:
            counter = int(values["counter"] or "0")
            cfg = Config.model_validate({**self.app.config.model_dump(), "server": {
                **self.app.config.server.model_dump(), "url": values["url"],
                "site": values["site"], "counter": counter}})
        except (ValueError, Exception) as exc:  # noqa: BLE001 - pydantic's error, said plainly
            self.say(_("Not valid: {why}").format(why=str(exc).splitlines()[-1][:120]))
            return
        if not values["token"]:
            self.say(_("The token is missing."))
            return
        self.say(_("Checking with the backend…"))
        client = make_client(cfg, values["token"])
        try:
            me = await client.me()
            day = await client.day()
            if counter not in {c.number for c in day.counters}:
                self.say(_("Site {site} has no counter {n}.").format(site=cfg.server.site,
                                                                     n=counter))
                return
        except errors.Unauthorised:
            self.say(_("The backend did not accept the token."))
            return
        except errors.NotFound:
            self.say(_("The backend has no site {site}.").format(site=cfg.server.site))
            return
        except errors.ApiError as exc:
            self.say(_("The backend could not be asked: {why}").format(why=errors.said(exc)))
            return
        finally:
            await client.aclose()
        try:
            await asyncio.to_thread(save_settings, {"server": {
                "url": cfg.server.url, "site": cfg.server.site, "counter": counter}})
        except (ConfigError, OSError) as exc:
            self.say(_("The settings could not be saved: {why}").format(why=exc))
            return
        try:
            await asyncio.to_thread(credentials.store, cfg.server.url, values["token"])
            kept = _("The token is kept in the OS keyring.")
        except RuntimeError:
            kept = no_keyring()
        self.app.config = cfg
        self.notify(_("Welcome, {person} ({role}). {kept}").format(
            person=me.person, role=_(present.ROLES.get(me.role, me.role)), kept=kept),
            timeout=20)
        self.app.pop_screen()
        self.app.start(values["token"])


def no_keyring() -> str:
    return _("No secure keyring on this machine: the URL, site and counter are saved, the "
             "token is kept in memory only. Next time, start with SKRANKE_TOKEN=<token> "
             "skranke.")
