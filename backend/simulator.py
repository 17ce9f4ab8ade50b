"""The demo's life: citizens arrive and check in at the kiosk, walk-ins come in, and
simulated caseworkers at the other counters call, serve and finish — all through the HTTP
API with the tokens a kiosk and a caseworker use, on the server's clock (`--speed`),
reproducible with `--seed`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
from datetime import datetime, timedelta

import httpx

from .clock import Clock
from .demo import FIRST, LAST, WEIGHTS

log = logging.getLogger("skranke.simulator")


class DemoLife:
    def __init__(self, base_url: str, site_id: str, clock: Clock, tokens: dict[str, str],
                 caseworkers: dict[int, str], *, seed: int = 1, speed: float = 1.0,
                 walkins_per_hour: float = 8.0, verify: bool | str = True) -> None:
        self.url, self.site, self.clock = base_url, site_id, clock
        self.tokens, self.caseworkers = tokens, caseworkers
        self.rng = random.Random(seed)
        self.speed = speed
        self.walkins_per_hour = walkins_per_hour
        self.stop = threading.Event()
        self._agenda: list[tuple[datetime, int, str, dict]] = []
        self._n = itertools.count()
        self.client = httpx.Client(base_url=base_url, timeout=10, verify=verify)
        self.done: dict[str, int] = {}

    # --- the agenda -----------------------------------------------------------------------
    def at(self, when: datetime, what: str, **data) -> None:
        heapq.heappush(self._agenda, (when, next(self._n), what, data))

    def _h(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def plan(self) -> None:
        """Read today's bookings and plan each citizen's arrival (or absence)."""
        now = self.clock.now()
        day = self.client.get(f"/sites/{self.site}/day", headers=self._h("planner")).json()
        for v in day["visits"]:
            if v["kind"] != "booked" or v["state"] != "booked":
                continue
            if self.rng.random() < 0.07:
                continue  # a no-show never comes
            slot = datetime.fromisoformat(v["slot_start"])
            arrival = slot + timedelta(minutes=self.rng.gauss(-2, 4))
            self.at(max(arrival, now), "arrive", ref=v["booking_ref"])
        self.at(now + self._walkin_gap(), "walkin")
        for number in self.caseworkers:
            self.at(now + timedelta(seconds=self.rng.uniform(5, 60)), "counter", number=number)

    def _walkin_gap(self) -> timedelta:
        return timedelta(hours=self.rng.expovariate(self.walkins_per_hour))

    # --- acting ---------------------------------------------------------------------------
    def arrive(self, ref: str) -> None:
        self.client.post(f"/sites/{self.site}/check-in", json={"booking_ref": ref},
                         headers={**self._h("kiosk"), "Idempotency-Key": f"sim-in-{ref}"})

    def walkin(self) -> None:
        codes = list(WEIGHTS)
        errand = self.rng.choices(codes, weights=[WEIGHTS[c] for c in codes])[0]
        name = f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"
        self.client.post(f"/sites/{self.site}/walk-ins", json={"errand": errand, "name": name},
                         headers={**self._h("kiosk"),
                                  "Idempotency-Key": f"sim-walkin-{next(self._n)}"})
        self.at(self.clock.now() + self._walkin_gap(), "walkin")

    def counter(self, number: int, visit_id: int | None = None, step: str = "call",
                minutes: float = 10.0) -> None:
        h = {"Authorization": f"Bearer {self.caseworkers[number]}"}
        now = self.clock.now()
        if step == "call":
            r = self.client.post(f"/sites/{self.site}/counters/{number}/call-next", headers=h)
            body = r.json() if r.status_code == 200 else {}
            if r.status_code == 409 and r.json().get("code") == "counter_busy":
                visit_id = r.json()["visit_id"]
                step = "start" if r.json()["state"] == "called" else "finish"
                self.at(now + timedelta(minutes=1), "counter", number=number,
                        visit_id=visit_id, step=step)
                return
            if not body.get("visit"):
                self.at(now + timedelta(seconds=45), "counter", number=number)
                return
            v = body["visit"]
            self.at(now + timedelta(minutes=self.rng.uniform(0.3, 1.5)), "counter",
                    number=number, visit_id=v["id"], step="start",
                    minutes=v["expected_minutes"])
        elif step == "start":
            self.client.post(f"/visits/{visit_id}/start", headers=h)
            took = max(2.0, self.rng.gauss(minutes, minutes * 0.3))
            self.at(now + timedelta(minutes=took), "counter", number=number,
                    visit_id=visit_id, step="finish")
        else:
            x = self.rng.random()
            body = {"outcome": "served"}
            if x < 0.17:
                body = {"outcome": "missing_documents"}
            elif x < 0.22:
                body = {"outcome": "referred", "referred_to": "Udbetaling Danmark"}
            self.client.post(f"/visits/{visit_id}/finish", json=body, headers=h)
            self.at(now + timedelta(seconds=self.rng.uniform(10, 60)), "counter", number=number)

    def step(self) -> int:
        """Do everything due by now; returns how many actions ran."""
        now = self.clock.now()
        ran = 0
        while self._agenda and self._agenda[0][0] <= now:
            _, _, what, data = heapq.heappop(self._agenda)
            try:
                getattr(self, what)(**data)
            except httpx.HTTPError as exc:
                log.warning("demo life: %s failed (%s)", what, type(exc).__name__)
            self.done[what] = self.done.get(what, 0) + 1
            ran += 1
        return ran

    def wait_for_server(self, seconds: float = 30) -> bool:
        for _ in range(int(seconds * 10)):
            if self.stop.is_set():
                return False
            try:
                if self.client.get("/health").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            self.stop.wait(0.1)
        return False

    def run(self) -> None:
        if not self.wait_for_server():
            log.error("demo life: the server did not come up")
            return
        try:
            self.plan()
        except httpx.HTTPError as exc:
            log.error("demo life could not start: %s", type(exc).__name__)
            return
        while not self.stop.is_set():
            self.step()
            self.stop.wait(0.2)

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self.run, name="demo-life", daemon=True)
        t.start()
        return t
