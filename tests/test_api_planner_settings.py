"""The supervisor changes the planner's settings per site at runtime."""

from __future__ import annotations

from sqlalchemy import select

from backend.storage.models import AuditRow


def test_change_the_planner_settings(ctx, sup, cw, rec, as_role):
    assert cw.ok("get", "/sites/test/planner") == {
        "site_id": "test", "passed_over_minutes": 20, "duration_quantile": 0.8}
    out = sup.ok("put", "/sites/test/planner", {"passed_over_minutes": 5})
    assert (out["passed_over_minutes"], out["duration_quantile"]) == (5, 0.8)
    out = sup.ok("put", "/sites/test/planner", {"duration_quantile": 0.5})
    assert (out["passed_over_minutes"], out["duration_quantile"]) == (5, 0.5)
    assert rec.ok("get", "/sites/test/planner")["passed_over_minutes"] == 5
    # the rules every decision reads now carry them
    from backend.storage import repo
    with ctx.db.read() as s:
        rules = repo.planner_rules(s, "test", ctx.site("test").rules)
    assert (rules.passed_over_minutes, rules.duration_quantile) == (5, 0.5)
    with ctx.db.read() as s:
        actions = [a.detail for a in s.scalars(select(AuditRow).where(
            AuditRow.action == "planner_settings"))]
    assert actions[-1]["duration_quantile"] == 0.5
    # only supervisors (and admins) change them; values are checked
    assert cw.put("/sites/test/planner", {"passed_over_minutes": 1}).status_code == 403
    assert rec.put("/sites/test/planner", {"passed_over_minutes": 1}).status_code == 403
    assert sup.put("/sites/test/planner", {"duration_quantile": 2}).status_code == 422
