"""The errand catalogue: an editable TOML file, validated at start."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SHIPPED = Path(__file__).parent / "data" / "errands.toml"
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: Code
    name_da: str
    name_en: str
    #: Borgerservice can provide it at the counter (e.g. takes the photo): a walk-in
    #: without it may still be queued
    at_counter: bool = False


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
    documents: tuple[Document, ...] = ()

    @model_validator(mode="after")
    def _unique_docs(self) -> Errand:
        codes = [d.code for d in self.documents]
        if len(set(codes)) != len(codes):
            raise ValueError(f"errand {self.code}: document codes must be unique")
        return self


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
