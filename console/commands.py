"""The one registry of the console's commands: id, default key, action, label, who may.

The footer, the help screen (`?`), the command palette and the `[keymap]` section of
config.toml all read this table; a screen's key bindings are built from it (screens/base.py).
Labels are marked with `N_` and translated where shown. No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .i18n import N_

CASEWORKER = frozenset({"caseworker", "supervisor"})
ANYONE = frozenset({"caseworker", "reception", "supervisor", "admin"})
DESK = frozenset({"reception", "supervisor"})
SUPERVISOR = frozenset({"supervisor"})


@dataclass(frozen=True)
class Command:
    id: str
    key: str
    action: str
    label: str
    help: str
    scope: str = "counter"
    roles: frozenset[str] = CASEWORKER
    footer: bool = True


COMMANDS: tuple[Command, ...] = (
    Command("call_next", "n", "call_next", N_("Call next"),
            N_("Call the next citizen the backend picks for this counter")),
    Command("recall", "r", "recall", N_("Recall"),
            N_("Call the called citizen again (the backend limits how often)")),
    Command("start", "s", "start", N_("Arrived"),
            N_("The called citizen has come to the counter: start serving")),
    Command("no_show", "x", "no_show", N_("No-show"),
            N_("The called citizen did not come")),
    Command("requeue", "k", "requeue", N_("Requeue"),
            N_("Put the called citizen back in the queue")),
    Command("park", "p", "park", N_("Park"),
            N_("Park the citizen being served (e.g. fetching a document)")),
    Command("resume", "g", "resume", N_("Resume"),
            N_("Put a parked citizen of this counter back in the queue")),
    Command("transfer", "t", "transfer", N_("Transfer"),
            N_("Send the citizen to another counter or errand")),
    Command("finish", "f", "finish", N_("Finish"),
            N_("Finish the visit with an outcome")),
    Command("documents", "d", "documents", N_("Documents"),
            N_("Tick the citizen's documents present or missing")),
    Command("note", "a", "note", N_("Note"), N_("Add a note to the visit")),
    Command("reveal_cpr", "c", "reveal_cpr", N_("Show CPR"),
            N_("Show the full CPR number (asks first; the backend records it)")),
    Command("open_counter", "o", "open_counter", N_("Open"), N_("Open this counter")),
    Command("pause_counter", "b", "pause_counter", N_("Pause"),
            N_("Pause this counter (no one is called to it)")),
    Command("close_counter", "l", "close_counter", N_("Close"), N_("Close this counter")),
    Command("timeline", "y", "timeline", N_("Timeline"),
            N_("Show the day timeline instead of the citizen card, or back"),
            roles=ANYONE),
    Command("filter", "v", "cycle_filter", N_("View"),
            N_("Show next: mine, waiting, all, done")),
    Command("filter_mine", "1", "filter('mine')", N_("Mine"),
            N_("Show the citizens of this counter"), footer=False),
    Command("filter_waiting", "2", "filter('waiting')", N_("Waiting"),
            N_("Show the waiting citizens"), footer=False),
    Command("filter_all", "3", "filter('all')", N_("All"),
            N_("Show all of today's citizens"), footer=False),
    Command("filter_done", "4", "filter('done')", N_("Done"),
            N_("Show the finished visits"), footer=False),
    Command("card_down", "shift+down", "card(4)", N_("Card down"),
            N_("Show more of the citizen card when it does not fit"), footer=False),
    Command("card_up", "shift+up", "card(-4)", N_("Card up"),
            N_("Back to the top of the citizen card"), footer=False),
    Command("undo", "z", "undo", N_("Undo"),
            N_("Undo this counter's last no-show or finish (within a few minutes)")),
    Command("outbox", "u", "outbox", N_("Outbox"),
            N_("Actions waiting to be sent, and replays the backend refused"),
            footer=False),
    # reception
    Command("register_walkin", "w", "register_walkin", N_("Walk-in"),
            N_("Register a citizen without a booking (documents checked first)"),
            scope="reception", roles=DESK),
    Command("find", "s", "find", N_("Find"),
            N_("Find a booking by reference, name or CPR and check the citizen in"),
            scope="reception", roles=DESK),
    Command("check_in", "i", "check_in", N_("Check in"),
            N_("Check in the highlighted booked citizen"), scope="reception", roles=DESK),
    Command("mark_left", "x", "mark_left", N_("Left"),
            N_("The highlighted walk-in has left without being served"), scope="reception",
            roles=DESK),
    Command("book", "b", "book", N_("Book"), N_("Book a free time for a citizen at the desk"),
            scope="reception", roles=DESK),
    Command("reception_slip", "t", "slip", N_("Ticket"),
            N_("Show or hide the last ticket or booking given at the desk"),
            scope="reception", roles=DESK),
    Command("reception_precalls", "r", "precalls", N_("Pre-calls"),
            N_("The booked citizens to call ahead, today and the next working days"),
            scope="reception", roles=DESK),
    # the supervisor's floor
    Command("floor_precalls", "r", "precalls", N_("Pre-calls"),
            N_("The booked citizens to call ahead, today and the next working days"),
            scope="floor", roles=SUPERVISOR),
    Command("floor_move", "m", "move", N_("Move"),
            N_("Move the highlighted waiting citizen to a counter or back to the pool"),
            scope="floor", roles=SUPERVISOR),
    Command("floor_call", "c", "call_to", N_("Call to"),
            N_("Call the highlighted waiting citizen to a chosen counter"), scope="floor",
            roles=SUPERVISOR),
    Command("floor_priority_up", "plus", "priority(1)", N_("Priority +"),
            N_("Raise the highlighted citizen's priority"), scope="floor", roles=SUPERVISOR),
    Command("floor_priority_down", "minus", "priority(-1)", N_("Priority −"),
            N_("Lower the highlighted citizen's priority"), scope="floor", roles=SUPERVISOR),
    Command("floor_open", "o", "counter('open')", N_("Open"),
            N_("Reopen the highlighted paused counter"), scope="floor", roles=SUPERVISOR),
    Command("floor_pause", "b", "counter('pause')", N_("Pause"),
            N_("Pause the highlighted counter"), scope="floor", roles=SUPERVISOR),
    Command("floor_close", "l", "close_counter", N_("Close"),
            N_("Close the highlighted counter (asks where its citizens go)"), scope="floor",
            roles=SUPERVISOR),
    Command("floor_errands", "e", "errands", N_("Errands"),
            N_("Set the errands the highlighted counter handles"), scope="floor",
            roles=SUPERVISOR),
    Command("floor_stats", "t", "stats", N_("Statistics"),
            N_("The day's statistics: counts, rates, waiting, service, counters"),
            scope="floor", roles=SUPERVISOR),
    Command("floor_planner", "s", "planner", N_("Planner"),
            N_("The planner's settings for this site: passed-over limit, duration quantile"),
            scope="floor", roles=SUPERVISOR),
    Command("floor_audit", "a", "audit", N_("Audit log"),
            N_("Search the audit log by citizen (CPR or name) or by user"), scope="floor",
            roles=SUPERVISOR),
    # the audit view
    Command("audit_search", "a", "search", N_("Search"),
            N_("Search by CPR number, name or @user"), scope="audit", roles=SUPERVISOR),
    Command("audit_back", "escape", "back", N_("Back"), N_("Back to the previous screen"),
            scope="audit", roles=SUPERVISOR),
    # statistics
    Command("stats_prev", "left", "day(-1)", N_("Day before"), N_("The day before"),
            scope="stats", roles=SUPERVISOR),
    Command("stats_next", "right", "day(1)", N_("Day after"), N_("The day after"),
            scope="stats", roles=SUPERVISOR),
    Command("stats_week", "w", "week", N_("7 days"), N_("The last seven days up to this day"),
            scope="stats", roles=SUPERVISOR),
    Command("stats_sites", "a", "sites", N_("All sites"),
            N_("Switch between this site's figures and every site's of the municipality, "
               "with their totals"), scope="stats", roles=SUPERVISOR),
    Command("stats_export", "x", "export", N_("Export CSV"),
            N_("Save these figures as CSV in your Documents folder"), scope="stats",
            roles=SUPERVISOR),
    Command("stats_back", "escape", "back", N_("Back"), N_("Back to the previous screen"),
            scope="stats", roles=SUPERVISOR),
    # the pre-call list
    Command("precall_phone", "1", "record('solved_by_phone')", N_("Solved by phone"),
            N_("Solved on the phone: the visit is cancelled and its time freed"),
            scope="precalls", roles=DESK),
    Command("precall_self", "2", "record('self_service')", N_("Self-service"),
            N_("Sent to self-service: the visit is cancelled, the hint given"),
            scope="precalls", roles=DESK),
    Command("precall_visit", "3", "record('needs_visit')", N_("Needs the visit"),
            N_("Needs the visit: write the prepared notes for the caseworker"),
            scope="precalls", roles=DESK),
    Command("precall_unreached", "4", "record('not_reached')", N_("Not reached"),
            N_("Not reached: stays on the list to try again"), scope="precalls",
            roles=DESK),
    Command("precall_back", "escape", "back", N_("Back"), N_("Back to the previous screen"),
            scope="precalls", roles=DESK),
    # dialogs
    Command("doc_present", "p", "mark('present')", N_("Present"),
            N_("The highlighted document is present"), scope="documents", roles=ANYONE),
    Command("doc_missing", "m", "mark('missing')", N_("Missing"),
            N_("The highlighted document is missing"), scope="documents", roles=ANYONE),
    Command("doc_unknown", "u", "mark('unknown')", N_("Unknown"),
            N_("Not checked yet"), scope="documents", roles=ANYONE),
    Command("dialog_close", "escape", "close", N_("Close"), N_("Close this window"),
            scope="dialog", roles=ANYONE),
    Command("help", "question_mark", "help", N_("Help"),
            N_("All keys and what they do"), scope="app", roles=ANYONE),
    Command("palette", "ctrl+p", "command_palette", N_("Commands"),
            N_("Search all commands of this screen by name"), scope="app", roles=ANYONE,
            footer=False),
    Command("quit", "ctrl+q", "quit", N_("Quit Skranke"), N_("Leave Skranke"), scope="app",
            roles=ANYONE),
)

BY_ID = {c.id: c for c in COMMANDS}


def for_scope(scope: str, role: str | None = None) -> list[Command]:
    return [c for c in COMMANDS if c.scope == scope and (role is None or role in c.roles)]


KEY_NAMES = {"question_mark": "?", "escape": "Esc", "enter": "Enter", "ctrl+p": "Ctrl+P",
             "ctrl+q": "Ctrl+Q", "plus": "+", "minus": "−", "left": "←", "right": "→",
             "shift+down": "Shift+↓", "shift+up": "Shift+↑"}


def key_label(keys: str) -> str:
    """A binding's keys as a person reads them: '?' for question_mark, 'Esc' for escape."""
    return ", ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def keys(keymap: dict[str, str]) -> dict[str, str]:
    """Every command's keys after the user's keymap (unknown ids are an error)."""
    unknown = sorted(set(keymap) - set(BY_ID))
    if unknown:
        raise ValueError(f"unknown command id(s) in [keymap]: {', '.join(unknown)}; "
                         f"known: {', '.join(BY_ID)}")
    return {c.id: keymap.get(c.id, c.key) for c in COMMANDS}
