"""Two sites on one database, tokens bound to their site: every role × every route of the
other site answers 403 `wrong_site` (the event stream, the waiting room's pages and the
searches included), and changes nothing; the own site works as before."""

from __future__ import annotations

import csv
import io
import json
import os
import re

import pytest
import tomlkit

from backend.services.context import ROLES
from backend.storage.models import CounterRow
from backend.web import pairing

from .helpers import Api, make_ctx, site_dict, token
from .test_api_stats import at, visit
from .test_api_stats import build as stats_day
from .test_api_visits import CPR, book

NORD = site_dict(id="nord", name="Borgerservice Nord", counters=3)
START = "2026-11-24T10:30:00+01:00"
#: A valid body for each write, so that only the site can refuse it.
BODIES = {
    "/walk-ins": {"errand": "health_card", "name": "Ole Hansen"},
    "/check-in": {"booking_ref": "ABCDEFGH"},
    "/search": {"name": "Karen"},
    "/bookings": {"errand": "health_card", "start": START, "name": "Ole Hansen"},
    "/planner": {"passed_over_minutes": 5},
    "/errands": {"errands": None},
    "/call": {"counter": 1},
    "/transfer": {"counter": 2},
    "/move": {"counter": 1},
    "/priority": {"priority": 1},
    "/finish": {"outcome": "served"},
    "/{code}": {"status": "present"},
    "/notes": {"text": "a note"},
    "/precall": {"result": "not_reached"},
    "/{ref}": {"start": START},
}
#: Routes that belong to no one site: the same answer for a bound token as for any.
SITELESS = {"/errands", "/sites", "/me", "/audit/search"}


@pytest.fixture
def ctx(tmp_path):
    c = make_ctx(tmp_path, more_sites=(NORD,))
    yield c
    c.db.dispose()


def routes(client):
    """(method, path template, roles) of every route that names its roles."""
    spec = client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if "x-roles" in op and path not in SITELESS:
                yield method.upper(), path, op["x-roles"]


def body_for(method: str, template: str):
    if method in ("GET",):
        return None
    if method == "DELETE":
        return {}
    return BODIES.get(template[template.rindex("/"):], {})


def fill(template: str, visit: dict) -> str:
    values = {"site_id": "test", "visit_id": str(visit["id"]), "number": "1",
              "code": "old_passport", "ref": visit["booking_ref"]}
    return re.sub(r"{(\w+)}", lambda m: values[m[1]], template)


def send(client, secret: str, method: str, template: str, visit: dict):
    return client.request(method, fill(template, visit), json=body_for(method, template),
                          params={"date": "2026-11-24", "from": "2026-11-24",
                                  "errand": "health_card"},
                          headers={"Authorization": f"Bearer {secret}",
                                   "Idempotency-Key": f"k-{method}-{template}"})


def test_every_role_on_every_route_of_another_site_gets_wrong_site(ctx, client, rec):
    visit = book(rec, minutes_from_now=30, cpr=CPR)  # a booking at site "test"
    before = rec.get(f"/visits/{visit['id']}").json()
    secrets = {role: token(ctx, role, f"nord-{role}", site="nord") for role in ROLES}
    checked = set()
    for method, template, allowed in routes(client):
        for role in allowed:
            r = send(client, secrets[role], method, template, visit)
            assert r.status_code == 403, (role, method, template, r.text)
            assert r.json()["code"] == "wrong_site", (role, method, template, r.text)
            assert r.json()["site"] == "nord"
            checked.add((role, method, template))
    assert len(checked) > 90
    assert {t for _r, _m, t in checked} >= {
        "/sites/{site_id}/events", "/sites/{site_id}/search", "/sites/{site_id}/day",
        "/visits/{visit_id}/cpr", "/bookings/{ref}", "/stats", "/stats.csv"}
    # nothing changed: the booking as it was, no counter opened, no walk-in made
    assert rec.get(f"/visits/{visit['id']}").json() == before
    day = rec.get("/sites/test/day").json()
    assert [v["id"] for v in day["visits"]] == [visit["id"]]
    assert all(c["state"] == "closed" for c in day["counters"])


def test_a_token_of_the_site_gets_past_the_site_check(ctx, client, rec):
    visit = book(rec, minutes_from_now=30, cpr=CPR)
    secrets = {role: token(ctx, role, f"test-{role}", site="test") for role in ROLES}
    for method, template, allowed in routes(client):
        if template.endswith("/events") or template.startswith("/stats"):
            continue  # a stream never ends (its own test below); /stats: every site's
        for role in allowed:
            r = send(client, secrets[role], method, template, visit)
            assert r.status_code != 403 or r.json()["code"] != "wrong_site", \
                (role, method, template, r.text)


def test_the_event_stream_of_the_own_site_streams(ctx, client):
    secret = token(ctx, "display", "tv", site="nord")
    headers = {"Authorization": f"Bearer {secret}"}
    with client.stream("GET", "/sites/nord/events", headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
    r = client.get("/sites/test/events", headers=headers)
    assert (r.status_code, r.json()["code"]) == (403, "wrong_site")


def test_a_site_token_works_its_own_site_beside_the_other(ctx, client):
    """Caseworkers of two sites on one database each open their counter 1 and call."""
    rec_test = Api(client, token(ctx, "reception", "rita", site="test"))
    rec_nord = Api(client, token(ctx, "reception", "nina", site="nord"))
    anne = Api(client, token(ctx, "caseworker", "anne", site="test"))
    nils = Api(client, token(ctx, "caseworker", "nils", site="nord"))
    a = rec_test.ok("post", "/sites/test/walk-ins", {"errand": "health_card", "name": "A"}, 201)
    n = rec_nord.ok("post", "/sites/nord/walk-ins", {"errand": "health_card", "name": "N"},
                    201)
    assert (a["site_id"], n["site_id"]) == ("test", "nord")
    anne.ok("post", "/sites/test/counters/1/open")
    nils.ok("post", "/sites/nord/counters/1/open")
    assert anne.ok("post", "/sites/test/counters/1/call-next")["visit"]["id"] == a["id"]
    assert nils.ok("post", "/sites/nord/counters/1/call-next")["visit"]["id"] == n["id"]
    # each sees its own site, and the other's visit is out of reach
    assert anne.get(f"/visits/{n['id']}").json()["code"] == "wrong_site"
    r = rec_nord.post(f"/visits/{a['id']}/walk-out", json={})
    assert (r.status_code, r.json()["code"]) == (403, "wrong_site")
    assert rec_test.ok("get", f"/visits/{a['id']}")["state"] == "called"
    assert anne.ok("get", "/me")["site"] == "test"
    assert [s["id"] for s in anne.ok("get", "/sites")] == ["test"]
    sup = Api(client, token(ctx, "supervisor", "sven"))
    assert sup.ok("get", "/me")["site"] is None
    assert [s["id"] for s in sup.ok("get", "/sites")] == ["test", "nord"]


def test_the_audit_search_of_a_site_token_shows_its_site_only(ctx, client):
    rec = Api(client, token(ctx, "reception", "rita"))  # every site
    for site in ("test", "nord"):
        v = rec.ok("post", f"/sites/{site}/walk-ins",
                   {"errand": "health_card", "name": "Ole Hansen", "cpr": CPR}, 201)
        rec.ok("post", f"/visits/{v['id']}/cpr")  # a reveal: audited with its citizen
    everyone = Api(client, token(ctx, "supervisor", "sven"))
    nord = Api(client, token(ctx, "supervisor", "nora", site="nord"))
    sites = {e["site_id"] for e in everyone.ok("post", "/audit/search", {"cpr": CPR})["entries"]}
    assert sites == {"test", "nord"}
    found = nord.ok("post", "/audit/search", {"user": "rita"})["entries"]
    assert found and {e["site_id"] for e in found} == {"nord"}
    assert {e["site_id"] for e in nord.ok("post", "/audit/search",
                                          {"cpr": CPR})["entries"]} == {"nord"}


def _pair(ctx, client, role: str, site: str) -> None:
    with ctx.db.write() as s:
        code, _ = pairing.create(s, role, f"{role}-{site}", site, ctx.clock.now(), 30, 24)
    assert client.get(f"/pair/{code}").status_code == 200


def test_a_paired_device_opens_its_own_site_only(ctx, client, rec):
    ref = book(rec, minutes_from_now=30)["booking_ref"]
    _pair(ctx, client, "display", "nord")
    assert client.get("/display/nord").status_code == 200
    page = client.get("/display/test")
    assert page.status_code == 403 and "Forkert sted" in page.text and "/display/nord" in page.text
    assert client.get("/device/nord/board").status_code == 200
    for path in ("/device/test/board", "/device/test/stream"):
        r = client.get(path)
        assert (r.status_code, r.json()["code"]) == (403, "wrong_site"), path
    client.cookies.clear()
    _pair(ctx, client, "kiosk", "nord")
    assert client.get("/kiosk/nord").status_code == 200
    assert client.get("/kiosk/test").status_code == 403
    key = iter(range(100))
    for path, body in (("/kiosk/test/api/check-in", {"booking_ref": ref}),
                       ("/kiosk/test/api/walk-in", {"errand": "health_card"}),
                       ("/kiosk/test/api/book", {"errand": "health_card", "start": START,
                                                 "name": "Ole", "phone": "12345678"})):
        r = client.post(path, json=body, headers={"Idempotency-Key": f"kiosk-{next(key)}"})
        assert (r.status_code, r.json()["code"]) == (403, "wrong_site"), path
    r = client.get("/kiosk/test/api/free-times", params={"errand": "health_card"})
    assert (r.status_code, r.json()["code"]) == (403, "wrong_site")
    assert rec.ok("get", f"/bookings/{ref}")["state"] == "booked"  # not checked in
    r = client.post("/kiosk/nord/api/walk-in",
                    json={"errand": "health_card", "documents": {"photo_id": True}},
                    headers={"Idempotency-Key": "kiosk-own"})
    assert r.status_code == 201, r.text


# --- statistics: each site's, and the municipality's ------------------------------------------
def _cli(ctx, tmp_path, capsys, *args: str) -> tuple[int, str, str]:
    """`skranke-server --config <two sites> ARGS` in this process: exit code, out, err."""
    from backend import cli

    cfg = tmp_path / "two-sites.toml"
    # the test's own key file: on PostgreSQL the default is skranke.keys in the working
    # folder, which is the repository's here
    cfg.write_text(tomlkit.dumps({"database_url": ctx.settings.database_url,
                                  "key_file": ctx.settings.key_file,
                                  "sites": [site_dict(), NORD]}), encoding="utf-8")
    capsys.readouterr()
    umask = os.umask(0o022)  # main() makes it owner-only for the process: put it back
    try:
        code = cli.main(["--config", str(cfg), *args])
    finally:
        os.umask(umask)
    out, err = capsys.readouterr()
    return code, out, err


def _nord_day(ctx) -> None:
    """Site "test" as tests/test_api_stats.py builds it; at nord two walk-ins served."""
    stats_day(ctx)
    with ctx.db.write() as s:
        c1 = s.query(CounterRow).filter_by(site_id="nord", number=1).one().id
        s.add_all([visit(site_id="nord", ticket=f"C00{n}", ticket_seq=n, kind="walkin",
                         state="done", outcome="served", errand="health_card",
                         expected_minutes=5, arrived_at=at(9, 0), called_at=at(9, 10 * n),
                         started_at=at(9, 10 * n), finished_at=at(9, 10 * n + 6),
                         counter_id=c1) for n in (1, 2)])


def test_the_municipality_figures_are_each_sites_and_all_together(ctx, client, tmp_path,
                                                                   capsys):
    _nord_day(ctx)
    sup = Api(client, token(ctx, "supervisor", "sven"))
    m = sup.ok("get", "/stats?from=2026-11-24")
    assert [s["site_id"] for s in m["sites"]] == ["test", "nord"]
    assert m["sites"][1]["name"] == "Borgerservice Nord"
    for one in m["sites"]:
        alone = sup.ok("get", f"/sites/{one['site_id']}/stats?from=2026-11-24")
        assert one == {"name": one["name"], **alone}
    t = m["total"]
    assert (t["visits"], t["booked"], t["walkins"], t["cancelled"]) == (8, 4, 4, 1)
    assert t["booked_share"] == 50.0 and t["by_outcome"]["served"] == 4
    assert t["waiting_walkin"]["n"] == 4  # 30 and 6 at test, 10 and 20 at nord
    assert t["waiting_walkin"]["mean"] == round((30 + 6 + 10 + 20) / 4, 1)
    assert [u["counter"] for u in t["utilisation"]] == ["test: Skranke 1", "nord: Skranke 1"]
    assert sum(h["called"] for h in t["by_hour"]) == 7
    r = sup.get("/stats.csv?from=2026-11-24")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = {(x["site"], x["section"], x["key"]): x["value"]
            for x in csv.DictReader(io.StringIO(r.text))}
    assert (rows["test", "total", "visits"], rows["nord", "total", "visits"],
            rows["*", "total", "visits"]) == ("6", "2", "8")
    assert rows["*", "utilisation", "nord: Skranke 1"] == rows["nord", "utilisation",
                                                              "Skranke 1"]
    r = sup.get("/sites/nord/stats.csv?from=2026-11-24")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert "total,visits,2" in r.text
    # the same file from the command line
    code, out, err = _cli(ctx, tmp_path, capsys, "stats", "export", "--from", "2026-11-24",
                          "--all-sites")
    assert code == 0, err
    assert out.replace("\r\n", "\n") == sup.get("/stats.csv?from=2026-11-24").text \
        .replace("\r\n", "\n")


def test_a_site_supervisor_reads_its_own_site_only(ctx, client):
    _nord_day(ctx)
    nora = Api(client, token(ctx, "supervisor", "nora", site="nord"))
    assert nora.ok("get", "/sites/nord/stats?from=2026-11-24")["visits"] == 2
    for path in ("/sites/test/stats", "/sites/test/stats.csv", "/stats", "/stats.csv"):
        r = nora.get(path, params={"from": "2026-11-24"})
        assert (r.status_code, r.json()["code"]) == (403, "wrong_site"), path
        assert "nord" in r.json()["message"]


@pytest.mark.parametrize("bad", ["20261124", "2026-11-24T00:00", "1764000000", "2026-13-01",
                                 "2026-11-24\n", "24-11-2026", "2026-11-4", "+2026-11-24"])
def test_statistics_take_a_day_as_yyyy_mm_dd_only(ctx, client, bad):
    sup = Api(client, token(ctx, "supervisor", "sven"))
    for path in ("/sites/test/stats", "/sites/test/stats.csv", "/stats", "/stats.csv"):
        for params in ({"from": bad}, {"from": "2026-11-24", "to": bad}):
            r = sup.get(path, params=params)
            assert r.status_code == 422, (path, params, r.text)
            assert r.json()["code"] == "invalid_request"
            assert "YYYY-MM-DD" in r.json()["message"] or "date" in r.json()["message"]


def test_the_contract_declares_the_csv_and_the_day_format(client):
    spec = client.get("/openapi.json").json()
    for path in ("/sites/{site_id}/stats.csv", "/stats.csv"):
        op = spec["paths"][path]["get"]
        assert list(op["responses"]["200"]["content"]) == ["text/csv"], path
        assert list(op["responses"]["403"]["content"]) == ["application/json"], path
        days = [p["schema"] for p in op["parameters"] if p["name"] in ("from", "to")]
        assert all("[0-9]{4}-[0-9]{2}-[0-9]{2}" in str(d) for d in days), days


# --- tokens from the command line ---------------------------------------------------------
def test_token_create_binds_a_site_and_token_list_shows_it(ctx, tmp_path, capsys):
    def cli(*args):
        return _cli(ctx, tmp_path, capsys, *args)

    assert cli("token", "create", "--role", "caseworker", "--person", "nils",
               "--site", "nord")[0] == 0
    assert cli("token", "create", "--role", "supervisor", "--person", "sven")[0] == 0
    code, out, err = cli("token", "create", "--role", "display", "--person", "tv",
                         "--site", "nord")
    assert code == 0 and "/pair/" in out and "at nord" in err
    # a caseworker works at one site: with two sites, it must be named; no such site: refused
    code, out, err = cli("token", "create", "--role", "caseworker", "--person", "x")
    assert code == 2 and "--site" in err and "test, nord" in err
    code, out, err = cli("token", "create", "--role", "admin", "--person", "x", "--site", "syd")
    assert code == 2 and "no site 'syd'" in err
    listed = {t["person"]: t["site"] for t in json.loads(cli("token", "list", "--json")[1])}
    assert listed == {"nils": "nord", "sven": None, "tv": "nord"}
    table = [line.split() for line in cli("token", "list")[1].splitlines()]
    assert table[0][:4] == ["ID", "ROLE", "PERSON", "SITE"]
    assert {row[2]: row[3] for row in table[1:]} == {"nils": "nord", "sven": "(all)",
                                                     "tv": "nord"}


def test_migration_0007_binds_paired_devices_and_leaves_people_on_every_site(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from backend.storage.db import MIGRATIONS, Database

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
        for tid, role in (("d1", "display"), ("k1", "kiosk"), ("c1", "caseworker")):
            conn.execute(text(
                "INSERT INTO tokens (id, token_hash, role, person, label, created_at, "
                "expires_at) VALUES (:id, :h, :role, 'p', '', '2026-11-24 09:00:00', "
                "'2027-11-24 09:00:00')"), {"id": tid, "h": tid * 32, "role": role})
        conn.execute(text(
            "INSERT INTO device_pairings (code_hash, token_id, site_id, created_at, "
            "expires_at) VALUES ('x', 'd1', 'nord', '2026-11-24 09:00:00', "
            "'2026-11-25 09:00:00')"))
    engine.dispose()
    db = Database(url)
    db.migrate()
    with db.read_engine.connect() as conn:
        sites = dict(conn.execute(text("SELECT id, site_id FROM tokens")).all())
    assert sites == {"d1": "nord", "k1": None, "c1": None}
    db.dispose()
