"""Documents that depend on an answer (issue 20): the catalogue's questions ("Er det dit
første pas?") and documents marked `when`/`unless`, validated at start, used by a walk-in's
registration at reception and by the kiosk's rule for who may be queued."""

from __future__ import annotations

import pytest

from backend.catalogue import CatalogueError, load_catalogue

from .helpers import Api, token
from .test_cli import run

HEAD = '[[errand]]\ncode = "pas"\nname_da = "Pas"\nname_en = "Passport"\nminutes = 10\n'
QUESTION = ('[[errand.questions]]\ncode = "first"\ntext_da = "Første pas?"\n'
            'text_en = "First passport?"\n')


def doc(code: str, extra: str = "") -> str:
    return f'[[errand.documents]]\ncode = "{code}"\nname_da = "d"\nname_en = "e"\n{extra}\n'


@pytest.mark.parametrize(("text", "said"), [
    (HEAD + doc("old", 'unless = "first_time"'), "no question 'first_time'"),
    (HEAD + QUESTION + doc("old"), "question first decides no document"),
    (HEAD + QUESTION + doc("old", 'when = "first"\nunless = "first"'), "not both"),
    (HEAD + QUESTION + QUESTION + doc("old", 'when = "first"'), "question codes"),
])
def test_a_catalogue_with_a_broken_condition_is_refused(tmp_path, text, said):
    path = tmp_path / "errands.toml"
    path.write_text(text)
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(path)
    assert said in str(exc.value)


def test_the_server_does_not_start_on_a_broken_condition(tmp_path, monkeypatch):
    path = tmp_path / "errands.toml"
    path.write_text(HEAD + doc("old", 'when = "first"'))
    monkeypatch.setenv("SKRANKE_ERRANDS_FILE", str(path))
    p = run(tmp_path, "migrate", check=False)
    assert p.returncode == 2 and "no question 'first'" in p.stderr


def test_the_shipped_passport_asks_first_passport_or_renewal():
    e = load_catalogue().by_code["passport_adult"]
    assert [q.text_da for q in e.questions] == ["Er det dit første pas?"]
    first = {d.code for d in e.needed({"first_passport": True})}
    renewal = {d.code for d in e.needed({"first_passport": False})}
    assert first == {"photo_id", "birth_certificate"} and renewal == {"old_passport"}
    assert {d.code for d in e.needed()} == first | renewal  # not asked: all of them


def docs(visit: dict) -> dict[str, str]:
    return {d["code"]: d["status"] for d in visit["documents"]}


def test_reception_registers_a_first_passport_without_the_old_one(rec):
    body = {"errand": "passport_adult", "name": "Sara Ali"}
    first = rec.post("/sites/test/walk-ins", json={
        **body, "answers": {"first_passport": True},
        "documents": {"photo_id": "present", "birth_certificate": "present"}})
    assert first.status_code == 201, first.text
    assert docs(first.json()) == {"photo_id": "present", "birth_certificate": "present"}
    renewal = rec.post("/sites/test/walk-ins", json={**body,
                                                     "answers": {"first_passport": False}})
    assert docs(renewal.json()) == {"old_passport": "unknown"}
    unasked = rec.post("/sites/test/walk-ins", json=body)  # as before: every document
    assert set(docs(unasked.json())) == {"old_passport", "photo_id", "birth_certificate"}
    r = rec.post("/sites/test/walk-ins", json={**body, "answers": {"first_passport": True},
                                               "documents": {"old_passport": "present"}})
    assert r.status_code == 422 and r.json()["code"] == "document_not_needed"
    r = rec.post("/sites/test/walk-ins", json={**body, "answers": {"married": True}})
    assert r.status_code == 422 and r.json()["code"] == "unknown_question"


def test_the_kiosk_queues_a_first_passport_with_what_a_first_passport_needs(ctx, client, rec):
    kiosk = Api(client, token(ctx, "kiosk"))
    page = kiosk.get("/kiosk/test")
    assert "Is this your first passport?" in page.text  # the catalogue's texts, as JSON
    assert '"unless": "first_passport"' in page.text
    first = {"errand": "passport_adult", "answers": {"first_passport": True},
             "documents": {"photo_id": True, "birth_certificate": True}}
    r = kiosk.post("/kiosk/test/api/walk-in", json=first)
    assert r.status_code == 201, r.text
    visit = next(v for v in rec.get("/sites/test/day").json()["visits"]
                 if v["ticket"] == r.json()["ticket"])
    assert docs(visit) == {"photo_id": "present", "birth_certificate": "present"}
    # a renewal without the old passport is not queued; unanswered, nobody is
    r = kiosk.post("/kiosk/test/api/walk-in", json={
        "errand": "passport_adult", "answers": {"first_passport": False},
        "documents": {"photo_id": True, "birth_certificate": True}})
    assert r.status_code == 409 and r.json()["missing"] == ["old_passport"]
    r = kiosk.post("/kiosk/test/api/walk-in", json={**first, "answers": {}})
    assert r.status_code == 422 and r.json()["code"] == "unanswered_question"
