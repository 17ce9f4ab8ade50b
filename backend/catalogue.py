"""The errand catalogue: an editable TOML file, validated at start."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SHIPPED = Path(__file__).parent / "data" / "errands.toml"
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


class Question(BaseModel):
    """A yes/no question asked before the documents (kiosk, reception): its answer decides
    which documents apply, e.g. "Er det dit første pas?"."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: Code
    text_da: str = Field(min_length=1)
    text_en: str = Field(min_length=1)
    #: the kiosk's third language; without it the kiosk shows the English text
    text_ar: str = ""


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: Code
    name_da: str
    name_en: str
    #: Borgerservice can provide it at the counter (e.g. takes the photo): a walk-in
    #: without it may still be queued
    at_counter: bool = False
    #: needed only when the errand's question of this code is answered yes
    when: Code | None = None
    #: needed only when the errand's question of this code is answered no
    unless: Code | None = None

    def applies(self, answers: Mapping[str, bool]) -> bool:
        """Needed with these answers; a question not answered (yet) keeps it needed."""
        if self.when is not None:
            return answers.get(self.when) is not False
        if self.unless is not None:
            return answers.get(self.unless) is not True
        return True


class Errand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: Code
    name_da: str
    name_en: str
    minutes: Annotated[int, Field(ge=1, le=240)]
    phone: bool = False
    self_service: bool = False
    hint_da: str = ""
    hint_en: str = ""
    questions: tuple[Question, ...] = ()
    documents: tuple[Document, ...] = ()

    @model_validator(mode="after")
    def _unique_docs(self) -> Errand:
        codes = [d.code for d in self.documents]
        if len(set(codes)) != len(codes):
            raise ValueError(f"errand {self.code}: document codes must be unique")
        asked = [q.code for q in self.questions]
        if len(set(asked)) != len(asked):
            raise ValueError(f"errand {self.code}: question codes must be unique")
        used = set()
        for d in self.documents:
            if d.when is not None and d.unless is not None:
                raise ValueError(f"errand {self.code}, document {d.code}: when or unless, "
                                 "not both")
            for q in (d.when, d.unless):
                if q is not None and q not in asked:
                    raise ValueError(f"errand {self.code}, document {d.code}: no question "
                                     f"'{q}' (questions: {', '.join(asked) or 'none'})")
                used.add(q)
        unused = [q for q in asked if q not in used]
        if unused:
            raise ValueError(f"errand {self.code}: question {unused[0]} decides no document")
        return self

    def needed(self, answers: Mapping[str, bool] | None = None) -> tuple[Document, ...]:
        """The documents that apply with these answers (all of them without answers)."""
        return tuple(d for d in self.documents if d.applies(answers or {}))

    def check_answers(self, answers: Mapping[str, bool]) -> None:
        unknown = sorted(set(answers) - {q.code for q in self.questions})
        if unknown:
            raise ValueError(f"errand {self.code} asks no question '{unknown[0]}'")


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    errand: tuple[Errand, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        codes = [e.code for e in self.errand]
        if len(set(codes)) != len(codes):
            raise ValueError("errand codes must be unique")
        return self

    @property
    def by_code(self) -> dict[str, Errand]:
        return {e.code: e for e in self.errand}


class CatalogueError(Exception):
    pass


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    path = Path(path) if path else SHIPPED
    try:
        with open(path, "rb") as fh:
            return Catalogue.model_validate(tomllib.load(fh))
    except OSError as exc:
        raise CatalogueError(f"errand catalogue {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"errand catalogue {path}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise CatalogueError(f"errand catalogue {path}:\n" + "\n".join(lines)) from None
