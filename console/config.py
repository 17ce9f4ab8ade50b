"""The console's settings: the documented defaults (config.toml at the repository root) with
the user's own file laid over them section by section, key by key.

UI-free on purpose (no Textual, screens or widgets): the app shell, tests and scripts import it.
Tokens are never part of it: they live in the operating system's keyring.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import platformdirs
import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from tomlkit.exceptions import ParseError

# Present in a checkout; an installed console may lack it, and then the model defaults (which
# equal the file's values) are used.
DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "config.toml"

_MODEL = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
Seconds = Annotated[float, Field(gt=0, le=60)]


class ServerConfig(BaseModel):
    """[server]: the backend, the site and counter this desk is, and how to reach it."""

    model_config = _MODEL
    url: str = "http://127.0.0.1:8470"
    site: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")] = "borgerservice"
    counter: Annotated[int, Field(ge=1, le=999)] = 1
    verify_tls: bool = True
    ca_bundle: str = ""  # absolute after load_config(); relative paths are from the file's folder
    connect_timeout: Seconds = 3.0
    read_timeout: Seconds = 5.0
    #: no byte on the event stream for this long (the server sends a heartbeat every 5 s):
    #: the server is silent; reconnect and say so
    stream_silence: Annotated[float, Field(ge=2, le=120)] = 12.0
    #: an action sent but not answered for this long is shown plainly with what to check
    unknown_warn: Annotated[float, Field(gt=0, le=3600)] = 120.0
    #: The token goes over plain http:// to a host other than this machine only when this
    #: says PLAIN_HTTP_CONSENT in words (docs/security.md).
    plain_http: str = ""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL")
        return value


class UiConfig(BaseModel):
    """[ui]: language and colour theme."""

    model_config = _MODEL
    language: Literal["da", "en"] = "da"
    theme: Annotated[str, Field(min_length=1)] = "textual-dark"


class Config(BaseModel):
    """The whole file. `keymap` maps binding ids to Textual key names ("n", "ctrl+n,f5")."""

    model_config = _MODEL
    server: ServerConfig = Field(default_factory=ServerConfig)
    ui: UiConfig = Field(default_factory=UiConfig)
    keymap: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)

    @field_validator("keymap")
    @classmethod
    def _known_commands(cls, value: dict[str, str]) -> dict[str, str]:
        from .commands import BY_ID

        unknown = sorted(set(value) - set(BY_ID))
        if unknown:
            raise ValueError(f"unknown command id {', '.join(unknown)}; the ids are: "
                             f"{', '.join(BY_ID)}")
        return value


#: What [server] plain_http must say for a token to cross the network unencrypted.
PLAIN_HTTP_CONSENT = "send the token unencrypted"
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def token_in_clear(server: ServerConfig) -> str | None:
    """Why this configuration may not send its token, or None: over http:// only to this
    machine, unless plain_http says the consent in words."""
    parts = urlsplit(server.url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "http" or host in _LOOPBACK or host.startswith("127."):
        return None
    if server.plain_http.strip().lower() == PLAIN_HTTP_CONSENT:
        return None
    return (f"server.url: http:// to {host} would send the token unencrypted over the "
            f"network; use https://, or write plain_http = \"{PLAIN_HTTP_CONSENT}\" in "
            "[server] if this network is protected otherwise")


_SECTIONS: dict[str, type[BaseModel]] = {"server": ServerConfig, "ui": UiConfig}
_SECONDS = "a number of seconds, more than 0 and at most 60"
_ALLOWED = {
    "server": "a table ([server])",
    "server.url": 'an http:// or https:// URL, e.g. "http://127.0.0.1:8470"',
    "server.site": "1 to 40 lower-case letters, digits or hyphens, not starting with a hyphen",
    "server.counter": "a whole number from 1 to 999",
    "server.verify_tls": "true or false",
    "server.ca_bundle": 'the path of an existing PEM file, or "" for the system\'s authorities',
    "server.connect_timeout": _SECONDS,
    "server.read_timeout": _SECONDS,
    "server.stream_silence": "a number of seconds from 2 to 120",
    "server.unknown_warn": "a number of seconds, more than 0 and at most 3600",
    "server.plain_http": '"" or the words of consent (docs/security.md)',
    "ui": "a table ([ui])",
    "ui.language": '"da" or "en"',
    "ui.theme": "a theme name (a non-empty string)",
    "keymap": "a table of binding id = keys ([keymap])",
}
_KEYS = 'a non-empty string of key names, e.g. "n" or "ctrl+n,f5"'


class ConfigError(Exception):
    """A settings file the console cannot use. str() is one line per problem, each naming the
    file, the dotted key (or the line) and what is allowed; `problems` holds them without the
    file name."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {problem}" for problem in problems))


def user_config_path() -> Path:
    """The user's settings file: $SKRANKE_CONFIG, else config.toml in the user config folder."""
    if env := os.environ.get("SKRANKE_CONFIG"):
        return Path(env)
    return platformdirs.user_config_path("skranke", appauthor=False) / "config.toml"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _problems(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        key = ".".join(loc)
        if err["type"] == "extra_forbidden":
            model = _SECTIONS.get(loc[0]) if len(loc) == 2 else Config
            known = ", ".join(model.model_fields) if model else "?"
            kind = "unknown section" if len(loc) == 1 else "unknown key"
            hint = ("; tokens are kept in the OS keyring, never in a file"
                    if "token" in loc[-1].lower() else "")
            lines.append(f"{key}: {kind}; allowed: {known}{hint}")
        elif err["type"] == "value_error" and key == "keymap":
            lines.append(f"{key}: {str(err['msg']).removeprefix('Value error, ')}")
        else:
            allowed = _ALLOWED.get(key) or (_KEYS if loc[0] == "keymap" else err["msg"])
            lines.append(f"{key}: must be {allowed} (got {_show(err['input'])})")
    return lines


def _bad_toml(line: int, column: int | None, reason: str) -> str:
    where = f"line {line}" + (f", column {column}" if column else "")
    return f"{where}: not valid TOML ({reason})"


def _read(path: Path) -> str | None:
    """The file's text, or None if there is no such file."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeError) as exc:
        raise ConfigError(path, [f"cannot be read: {getattr(exc, 'strerror', None) or exc}"]
                          ) from None


def _parse(path: Path) -> dict[str, Any] | None:
    text = _read(path)
    if text is None:
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        at = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
        if at:
            problem = _bad_toml(int(at[1]), int(at[2]), msg[:at.start()])
        else:  # "... (at end of document)"
            reason = msg.replace(" (at end of document)", "") + " at the end of the file"
            problem = _bad_toml(max(1, len(text.splitlines())), None, reason)
        raise ConfigError(path, [problem]) from None


def _lay_over(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on `base`: tables are merged key by key, anything else replaced."""
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, values in over.items():
        if isinstance(values, dict) and isinstance(merged.get(section), dict):
            merged[section].update(values)
        else:
            merged[section] = values
    return merged


def _validate(data: dict[str, Any], path: Path) -> Config:
    """A Config from `data`, errors named after `path`; ca_bundle made absolute and checked."""
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, _problems(exc)) from None
    if refused := token_in_clear(config.server):
        raise ConfigError(path, [refused])
    if bundle := config.server.ca_bundle:
        full = path.parent / Path(bundle).expanduser()
        if not full.is_file():
            raise ConfigError(path, [f"server.ca_bundle: must be {_ALLOWED['server.ca_bundle']}"
                                     f" (no such file: {full})"])
        server = config.server.model_copy(update={"ca_bundle": str(full.resolve())})
        config = config.model_copy(update={"server": server})
    return config


def _defaults() -> dict[str, Any]:
    data = _parse(DEFAULTS_FILE)
    if data is None:
        return Config().model_dump()
    return _validate(data, DEFAULTS_FILE).model_dump()


def load_config(path: Path | None = None) -> Config:
    """The settings: the defaults with the user's file (default: user_config_path()) laid over
    them. A missing user file means the defaults; a bad one raises ConfigError."""
    path = Path(path) if path is not None else user_config_path()
    config = _validate(_lay_over(_defaults(), _parse(path) or {}), path)
    if lang := os.environ.get("SKRANKE_LANG"):  # wins over the file, like SKRANKE_TOKEN
        if lang not in ("da", "en"):
            raise ConfigError(Path("SKRANKE_LANG"), [
                f"must be {_ALLOWED['ui.language']} (got {_show(lang)})"])
        config = config.model_copy(update={
            "ui": config.ui.model_copy(update={"language": lang})})
    return config


def save_settings(updates: dict[str, dict[str, object]], path: Path | None = None) -> Path:
    """Write {section: {key: value}} into the user's file, keeping its comments and other keys;
    the file and its folders are created if missing. The result is validated first: if it is
    invalid, ConfigError is raised and nothing is written. A key named like "token" is refused
    with ValueError: tokens live in the OS keyring. Returns the path written."""
    for section, values in updates.items():
        for name in (section, *values):
            if "token" in str(name).lower():
                raise ValueError(f"{section}.{name}: tokens are kept in the OS keyring, "
                                 "never written to a file")
    path = Path(path) if path is not None else user_config_path()
    try:
        doc = tomlkit.parse(_read(path) or "")
    except ParseError as exc:
        raise ConfigError(path, [_bad_toml(exc.line, exc.col, str(exc).split(" at line")[0])]
                          ) from None
    for section, values in updates.items():
        if section not in doc:
            doc.add(section, tomlkit.table())
        table = doc[section]
        if not isinstance(table, dict):
            raise ConfigError(path, [f"{section}: must be {_ALLOWED.get(section, 'a table')}"])
        for key, value in values.items():
            table[key] = value
    _validate(_lay_over(_defaults(), doc.unwrap()), path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(doc.as_string())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
