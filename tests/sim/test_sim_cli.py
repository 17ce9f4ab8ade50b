"""`skranke-server simulate` end to end on a few small days (issue 21)."""

from __future__ import annotations

from backend.cli import main


def test_simulate_writes_a_danish_report(tmp_path, capsys):
    params = tmp_path / "site.toml"
    params.write_text('[site]\ncounters = 2\nbooking_capacity = 2\nopen = "09:00"\n'
                      'close = "11:00"\n', "utf-8")
    out = tmp_path / "rapport"
    assert main(["simulate", str(params), "--days", "3", "--jobs", "1", "--out", str(out),
                 "--what-if"]) == 0
    text = (out / "rapport.md").read_text("utf-8")
    assert "Chancekø" in text and "borgere om ugen" in text and "Antagelser" in text
    assert "Time for time" in text and "| 09 |" in text and "| 10 |" in text
    assert "Hvad nu hvis" in text and "1 skranker" in text and "3 skranker" in text
    assert (out / "served.png").stat().st_size > 1000
    shown = capsys.readouterr()
    assert "planner" in shown.out and "3/3 days" in shown.err


def test_simulate_in_english_with_the_sweep(tmp_path, capsys):
    params = tmp_path / "site.toml"
    params.write_text('[site]\ncounters = 2\nbooking_capacity = 2\nopen = "09:00"\n'
                      'close = "11:00"\n', "utf-8")
    out = tmp_path / "report"
    assert main(["simulate", str(params), "--days", "2", "--jobs", "1", "--out", str(out),
                 "--lang", "en", "--sweep", "--no-hindsight", "--walkins-per-hour", "1",
                 "--no-show-sweep"]) == 0
    text = (out / "report.md").read_text("utf-8")
    assert "citizens a week" in text and "Trade-off" in text and "planner q=0.9 p=40" in text
    assert (out / "tradeoff.png").exists()
    assert "no-shows 0 %" in text and "no-shows 20 %" in text


def test_simulate_refuses_an_unknown_parameter(tmp_path, capsys):
    params = tmp_path / "bad.toml"
    params.write_text("[site]\ncountrs = 2\n", "utf-8")
    assert main(["simulate", str(params), "--days", "1"]) == 2
    assert "countrs" in capsys.readouterr().err
