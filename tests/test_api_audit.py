"""The audit view: by CPR (keyed hash), by name, by user; supervisors only; audited."""

from __future__ import annotations

from .console_ui import seed_day


def test_search_by_cpr_name_and_user_and_the_search_is_audited(rec, sup, cw, as_role):
    ids = seed_day(rec)
    sup.ok("post", f"/visits/{ids['B001']}/cpr")  # a reveal: audited against the citizen
    by_cpr = sup.ok("post", "/audit/search", {"cpr": "010190-1234"})
    actions = [e["action"] for e in by_cpr["entries"]]
    assert "reveal_cpr" in actions and "check_in" in actions
    assert all(e["ticket"] == "B001" for e in by_cpr["entries"])
    assert "0101901234" not in str(by_cpr) and "010190-1234" not in str(by_cpr)
    by_name = sup.ok("post", "/audit/search", {"name": "anna jen"})
    assert {e["visit_id"] for e in by_name["entries"]} == {ids["B001"]}
    by_user = sup.ok("post", "/audit/search", {"user": "rita"})
    assert by_user["count"] >= 5 and {e["actor"] for e in by_user["entries"]} == {"rita"}
    searches = sup.ok("post", "/audit/search", {"user": "sven"})["entries"]
    assert [e["detail"] for e in searches if e["action"] == "audit_search"][:3] == [
        {"by": "user", "hits": by_user["count"]}, {"by": "name", "hits": by_name["count"]},
        {"by": "cpr", "hits": by_cpr["count"]}]


def test_only_supervisors_and_one_criterion(sup, as_role):
    for role in ("caseworker", "reception", "kiosk", "display"):
        assert as_role(role).post("/audit/search", {"user": "x"}).status_code == 403
    r = sup.post("/audit/search", {"user": "x", "name": "yy"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_search"


def test_the_audit_screen_from_the_floor(server, ctx, tmp_path, rec, sup):
    import asyncio

    from .console_ui import console, screen_text
    from .console_ui import until as wait

    seed_day(rec)
    app = console(server, ctx, tmp_path, role="supervisor", person="sven")

    async def go():
        from screens.audit import AuditScreen
        from screens.floor import FloorScreen
        async with app.run_test(size=(120, 36)) as pilot:
            await wait(pilot, lambda: isinstance(app.screen, FloorScreen)
                       and app.connection == "online")
            await pilot.press("a")
            await wait(pilot, lambda: "Søg i revisionsloggen" in screen_text(app))
            await pilot.press(*"010190-1234", "enter")
            await wait(pilot, lambda: "Revisionslog for 010190-XXXX" in screen_text(app))
            assert isinstance(app.screen, AuditScreen)
            table = app.screen.query_one("DataTable")
            return [str(table.get_row_at(i)[3]) for i in range(table.row_count)]
    actions = asyncio.run(go())
    assert "tjekket ind" in actions and len(actions) >= 2  # in words (issue 22)
    searches = sup.ok("post", "/audit/search", {"user": "sven"})["entries"]
    assert any(e["action"] == "audit_search" and e["detail"]["by"] == "cpr" for e in searches)
