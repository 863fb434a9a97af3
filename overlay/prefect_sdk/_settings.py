"""The SDK's settings, read with Prefect's own names every time they are asked for.

`load_settings()` takes each setting from, in order of precedence: a keyword argument
(when not None), the environment, the active profile of Prefect's `profiles.toml`, and
finally the default. Nothing is cached: each call reads the environment and the profiles
file afresh, so a change to either is seen by the next call.
"""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SettingsError

__all__ = ["Settings", "is_cloud_url", "load_settings"]

DEFAULT_CLOUD_API_URL = "https://api.prefect.cloud/api"
DEFAULT_PROFILE = "ephemeral"


@dataclass(frozen=True)
class Settings:
    """The resolved settings. Build one with `load_settings()`.

    `api_key` and `auth_string` are left out of `repr()`/`str()` so they never reach a log.
    """

    api_url: str | None
    api_key: str | None = field(repr=False)
    auth_string: str | None = field(repr=False)
    request_timeout: float
    enable_http2: bool
    max_retries: int
    retry_extra_codes: frozenset[int]
    retry_jitter_factor: float
    csrf_support_enabled: bool
    # A MappingProxyType is not hashable, so the headers take no part in hash().
    custom_headers: Mapping[str, str] = field(hash=False)
    cloud_api_url: str
    home: Path


def is_cloud_url(api_url: str, cloud_api_url: str) -> bool:
    """True when `api_url` is `cloud_api_url` or a path below it (trailing slashes ignored)."""
    url = api_url.rstrip("/")
    base = cloud_api_url.rstrip("/")
    if not base:
        return False
    return url == base or url.startswith(base + "/")


# --------------------------------------------------------------------------------------
# Parsers: each takes a raw value (an environment string, a TOML scalar or a keyword
# argument) and returns the typed value, or raises _Invalid with a reason phrased to
# follow the setting, e.g. "is not a whole number".


class _Invalid(Exception):
    pass


_INF = float("inf")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _parse_api_url(raw: object) -> str | None:
    if not isinstance(raw, str):
        raise _Invalid("is not a string")
    return raw.strip().rstrip("/") or None


def _parse_secret(raw: object) -> str | None:
    if not isinstance(raw, str):
        raise _Invalid("is not a string")
    value = raw.strip()
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise _Invalid("contains a control character")
    return value or None


def _float_parser(minimum: float, *, inclusive: bool) -> Callable[[object], float]:
    def parse(raw: object) -> float:
        if isinstance(raw, bool):
            raise _Invalid("is not a number")
        if isinstance(raw, (int, float)):
            value = float(raw)
        elif isinstance(raw, str):
            try:
                value = float(raw.strip())
            except ValueError:
                raise _Invalid("is not a number") from None
        else:
            raise _Invalid("is not a number")
        if not -_INF < value < _INF:
            raise _Invalid("is not a finite number")
        if inclusive and value < minimum:
            raise _Invalid(f"must be {minimum:g} or more")
        if not inclusive and value <= minimum:
            raise _Invalid(f"must be greater than {minimum:g}")
        return value

    return parse


def _to_int(raw: object) -> int:
    if isinstance(raw, bool):
        raise _Invalid("is not a whole number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            raise _Invalid("is not a whole number") from None
    raise _Invalid("is not a whole number")


def _parse_max_retries(raw: object) -> int:
    value = _to_int(raw)
    if value < 0:
        raise _Invalid("must be 0 or more")
    return value


def _parse_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise _Invalid("is not a boolean (use true/false, 1/0, yes/no or on/off)")


def _parse_status_codes(raw: object) -> frozenset[int]:
    parts: list[object]
    if isinstance(raw, str):
        parts = [part.strip() for part in raw.split(",")]
        parts = [part for part in parts if part]
    elif isinstance(raw, int) and not isinstance(raw, bool):
        parts = [raw]
    elif isinstance(raw, (list, tuple, set, frozenset)):
        parts = list(raw)
    else:
        raise _Invalid("is not a comma-separated list of HTTP status codes")
    codes: set[int] = set()
    for part in parts:
        try:
            code = _to_int(part)
        except _Invalid:
            code = -1
        if not 100 <= code <= 599:
            raise _Invalid(f"contains {part!r}, which is not an HTTP status code (100-599)")
        codes.add(code)
    return frozenset(codes)


def _parse_headers(raw: object) -> Mapping[str, str]:
    decoded: object
    if isinstance(raw, str):
        try:
            decoded = json.loads(raw)
        except json.JSONDecodeError as error:
            where = f"line {error.lineno}, column {error.colno}"
            raise _Invalid(f"is not valid JSON ({error.msg} at {where})") from None
    else:
        decoded = raw
    if not isinstance(decoded, Mapping):
        raise _Invalid("is not a JSON object of header names to values")
    headers: dict[str, str] = {}
    for name, value in decoded.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise _Invalid("must map header names (strings) to values (strings)")
        headers[name] = value
    return types.MappingProxyType(headers)


def _parse_cloud_api_url(raw: object) -> str:
    if not isinstance(raw, str):
        raise _Invalid("is not a string")
    value = raw.strip().rstrip("/")
    if not value:
        raise _Invalid("is empty")
    return value


def _parse_home(raw: object) -> Path:
    if isinstance(raw, os.PathLike):
        raw = os.fspath(raw)
    if not isinstance(raw, str):
        raise _Invalid("is not a path")
    if not raw.strip():
        raise _Invalid("is empty")
    return Path(raw).expanduser()


@dataclass(frozen=True)
class _Spec:
    env: str
    parse: Callable[[object], Any]
    default: Callable[[], Any]
    # False for values that may hold credentials: they are never put in a message.
    show_value: bool = True


_SPECS: dict[str, _Spec] = {
    "api_url": _Spec("PREFECT_API_URL", _parse_api_url, lambda: None),
    "api_key": _Spec("PREFECT_API_KEY", _parse_secret, lambda: None, show_value=False),
    "auth_string": _Spec("PREFECT_API_AUTH_STRING", _parse_secret, lambda: None, show_value=False),
    "request_timeout": _Spec(
        "PREFECT_API_REQUEST_TIMEOUT", _float_parser(0.0, inclusive=False), lambda: 60.0
    ),
    "enable_http2": _Spec("PREFECT_API_ENABLE_HTTP2", _parse_bool, lambda: False),
    "max_retries": _Spec("PREFECT_CLIENT_MAX_RETRIES", _parse_max_retries, lambda: 5),
    "retry_extra_codes": _Spec("PREFECT_CLIENT_RETRY_EXTRA_CODES", _parse_status_codes, frozenset),
    "retry_jitter_factor": _Spec(
        "PREFECT_CLIENT_RETRY_JITTER_FACTOR", _float_parser(0.0, inclusive=True), lambda: 0.2
    ),
    "csrf_support_enabled": _Spec("PREFECT_CLIENT_CSRF_SUPPORT_ENABLED", _parse_bool, lambda: True),
    "custom_headers": _Spec(
        "PREFECT_CLIENT_CUSTOM_HEADERS",
        _parse_headers,
        lambda: types.MappingProxyType({}),
        show_value=False,
    ),
    "cloud_api_url": _Spec(
        "PREFECT_CLOUD_API_URL", _parse_cloud_api_url, lambda: DEFAULT_CLOUD_API_URL
    ),
    "home": _Spec("PREFECT_HOME", _parse_home, lambda: Path("~/.prefect").expanduser()),
}

_MAX_SHOWN = 80


def _parse(spec: _Spec, raw: object, source: str) -> Any:
    try:
        return spec.parse(raw)
    except _Invalid as invalid:
        if spec.show_value:
            shown = repr(raw)
            if len(shown) > _MAX_SHOWN:
                shown = shown[: _MAX_SHOWN - 3] + "..."
            subject = f"{spec.env}={shown}"
        else:
            subject = spec.env
        raise SettingsError(f"{subject} ({source}) {invalid}") from None


# --------------------------------------------------------------------------------------
# Profiles


@dataclass(frozen=True)
class _Profile:
    name: str
    path: Path
    values: Mapping[str, object]


def _profiles_path(environ: Mapping[str, str], home: Path) -> Path:
    explicit = environ.get("PREFECT_PROFILES_PATH")
    if explicit:
        return Path(explicit).expanduser()
    return home / "profiles.toml"


def _load_profile(environ: Mapping[str, str], home: Path) -> _Profile:
    path = _profiles_path(environ, home)
    chosen = environ.get("PREFECT_PROFILE") or None
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return _Profile(chosen or DEFAULT_PROFILE, path, {})
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SettingsError(f"cannot read the Prefect profiles file {path}: {reason}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsError(f"the Prefect profiles file {path} is not UTF-8 text") from None
    try:
        document = _loads_toml(text)
    except ValueError as error:
        raise SettingsError(
            f"the Prefect profiles file {path} is not valid TOML ({_toml_position(error)})"
        ) from None

    active = document.get("active", DEFAULT_PROFILE)
    if chosen is None:
        if not isinstance(active, str):
            raise SettingsError(
                f"the 'active' key in the Prefect profiles file {path} is not a string"
            )
        chosen = active
    profiles = document.get("profiles", {})
    if not isinstance(profiles, dict):
        raise SettingsError(f"'profiles' in the Prefect profiles file {path} is not a table")
    values = profiles.get(chosen, {})
    if not isinstance(values, dict):
        raise SettingsError(
            f"profile {chosen!r} in the Prefect profiles file {path} is not a table"
        )
    return _Profile(chosen, path, values)


def _toml_position(error: ValueError) -> str:
    """Where a TOML error is, without the rest of its message (which may quote the file)."""
    if isinstance(error, _TomlSubsetError):
        return f"at line {error.line}"
    message = str(error)
    start = message.rfind("(at ")
    if start >= 0 and message.endswith(")"):
        return message[start + 1 : -1]
    return "position unknown"


def _loads_toml(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(text)
    return _loads_toml_subset(text)  # Python 3.10 has no tomllib


# --------------------------------------------------------------------------------------
# A fallback TOML reader for Python 3.10, where tomllib does not exist. It reads what
# Prefect writes to profiles.toml and a little more: comments, tables and dotted keys,
# basic/literal strings (single- and multi-line), integers, floats, booleans, arrays and
# inline tables. Dates and arrays of tables are refused rather than misread.


class _TomlSubsetError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"{message} (at line {line})")
        self.line = line


_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_VALUE_END = frozenset(" \t\n#,]}")


class _TomlSubsetParser:
    def __init__(self, text: str) -> None:
        self.src = text.replace("\r\n", "\n")
        self.pos = 0
        self.root: dict[str, Any] = {}
        self.headers: set[tuple[str, ...]] = set()
        self.frozen: set[int] = set()  # ids of tables that may not be added to

    # -- helpers -------------------------------------------------------------------

    def error(self, message: str) -> _TomlSubsetError:
        return _TomlSubsetError(message, self.src.count("\n", 0, self.pos) + 1)

    def peek(self, count: int = 1) -> str:
        return self.src[self.pos : self.pos + count]

    def skip_blanks(self) -> None:
        while self.peek() in (" ", "\t"):
            self.pos += 1

    def skip_comment(self) -> None:
        if self.peek() == "#":
            end = self.src.find("\n", self.pos)
            end = len(self.src) if end < 0 else end
            self.check_chars(self.src[self.pos + 1 : end], allow_newline=False)
            self.pos = end

    def skip_space_and_newlines(self) -> None:
        while True:
            self.skip_blanks()
            self.skip_comment()
            if self.peek() != "\n":
                return
            self.pos += 1

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.error(f"expected {char!r}")
        self.pos += 1

    def end_of_line(self) -> None:
        self.skip_blanks()
        self.skip_comment()
        if self.pos < len(self.src):
            self.expect("\n")

    def check_chars(self, text: str, *, allow_newline: bool) -> None:
        for char in text:
            code = ord(char)
            if (code < 32 and char != "\t" and not (allow_newline and char == "\n")) or code == 127:
                raise self.error("control character not allowed")

    # -- document ------------------------------------------------------------------

    def parse(self) -> dict[str, Any]:
        table = self.root
        while True:
            self.skip_space_and_newlines()
            if self.pos >= len(self.src):
                return self.root
            if self.peek() == "[":
                table = self.table_header()
            else:
                self.key_value(table)
            self.end_of_line()

    def table_header(self) -> dict[str, Any]:
        self.pos += 1
        if self.peek() == "[":
            raise self.error("arrays of tables are not supported")
        self.skip_blanks()
        path = tuple(self.key())
        self.skip_blanks()
        self.expect("]")
        if path in self.headers:
            raise self.error("table defined twice")
        self.headers.add(path)
        table = self.root
        for part in path:
            child = table.setdefault(part, {})
            if not isinstance(child, dict) or id(child) in self.frozen:
                raise self.error("cannot redefine a value as a table")
            table = child
        return table

    def key(self) -> list[str]:
        parts = [self.key_part()]
        while True:
            self.skip_blanks()
            if self.peek() != ".":
                return parts
            self.pos += 1
            self.skip_blanks()
            parts.append(self.key_part())

    def key_part(self) -> str:
        char = self.peek()
        if char == '"':
            return self.basic_string()
        if char == "'":
            return self.literal_string()
        start = self.pos
        while self.peek() and self.peek() in _BARE_KEY_CHARS:
            self.pos += 1
        if self.pos == start:
            raise self.error("expected a key")
        return self.src[start : self.pos]

    def key_value(self, table: dict[str, Any]) -> None:
        path = self.key()
        self.skip_blanks()
        self.expect("=")
        self.skip_blanks()
        value = self.value()
        for part in path[:-1]:
            child = table.setdefault(part, {})
            if not isinstance(child, dict) or id(child) in self.frozen:
                raise self.error("cannot add keys to this value")
            table = child
        if path[-1] in table:
            raise self.error("key defined twice")
        table[path[-1]] = value

    # -- values --------------------------------------------------------------------

    def value(self) -> Any:
        char = self.peek()
        if self.peek(3) == '"""':
            return self.multiline_string('"""')
        if self.peek(3) == "'''":
            return self.multiline_string("'''")
        if char == '"':
            return self.basic_string()
        if char == "'":
            return self.literal_string()
        if char == "[":
            return self.array()
        if char == "{":
            return self.inline_table()
        return self.scalar()

    def basic_string(self) -> str:
        self.pos += 1
        chunks: list[str] = []
        while True:
            char = self.peek()
            if char in ("", "\n"):
                raise self.error("unterminated string")
            self.pos += 1
            if char == '"':
                return "".join(chunks)
            if char == "\\":
                chunks.append(self.escape())
            else:
                self.check_chars(char, allow_newline=False)
                chunks.append(char)

    def escape(self) -> str:
        char = self.peek()
        self.pos += 1
        if char in _ESCAPES:
            return _ESCAPES[char]
        if char in ("u", "U"):
            width = 4 if char == "u" else 8
            digits = self.peek(width)
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise self.error("invalid unicode escape")
            self.pos += width
            code = int(digits, 16)
            if not (0 <= code <= 0xD7FF or 0xE000 <= code <= 0x10FFFF):
                raise self.error("escape is not a unicode scalar value")
            return chr(code)
        raise self.error("invalid escape in a string")

    def literal_string(self) -> str:
        self.pos += 1
        end = self.src.find("'", self.pos)
        newline = self.src.find("\n", self.pos)
        if end < 0 or 0 <= newline < end:
            raise self.error("unterminated string")
        text = self.src[self.pos : end]
        self.check_chars(text, allow_newline=False)
        self.pos = end + 1
        return text

    def multiline_string(self, delimiter: str) -> str:
        self.pos += 3
        if self.peek() == "\n":
            self.pos += 1
        basic = delimiter == '"""'
        chunks: list[str] = []
        while True:
            if self.pos >= len(self.src):
                raise self.error("unterminated string")
            if self.peek(3) == delimiter:
                # Up to two quotes may sit right before the closing delimiter.
                extra = 0
                while (
                    extra < 2
                    and self.src[self.pos + 3 + extra : self.pos + 4 + extra] == delimiter[0]
                ):
                    extra += 1
                chunks.append(delimiter[0] * extra)
                self.pos += 3 + extra
                return "".join(chunks)
            char = self.peek()
            self.pos += 1
            if basic and char == "\\":
                rest = self.pos
                while self.src[rest : rest + 1] in (" ", "\t"):
                    rest += 1
                if self.src[rest : rest + 1] == "\n":
                    self.pos = rest
                    while self.peek() in (" ", "\t", "\n"):
                        self.pos += 1
                else:
                    chunks.append(self.escape())
            else:
                self.check_chars(char, allow_newline=True)
                chunks.append(char)

    def array(self) -> list[Any]:
        self.pos += 1
        items: list[Any] = []
        while True:
            self.skip_space_and_newlines()
            if self.peek() == "]":
                self.pos += 1
                return items
            items.append(self.value())
            self.skip_space_and_newlines()
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "]":
                raise self.error("expected ',' or ']' in an array")

    def inline_table(self) -> dict[str, Any]:
        self.pos += 1
        table: dict[str, Any] = {}
        self.skip_blanks()
        if self.peek() == "}":
            self.pos += 1
            self.frozen.add(id(table))
            return table
        while True:
            self.skip_blanks()
            self.key_value(table)
            self.skip_blanks()
            if self.peek() == "}":
                self.pos += 1
                self.freeze(table)
                return table
            self.expect(",")

    def freeze(self, table: dict[str, Any]) -> None:
        self.frozen.add(id(table))
        for value in table.values():
            if isinstance(value, dict):
                self.freeze(value)

    def scalar(self) -> Any:
        import re

        start = self.pos
        while self.peek() and self.peek() not in _VALUE_END:
            self.pos += 1
        token = self.src[start : self.pos]
        if token == "true":
            return True
        if token == "false":
            return False
        digits = r"[0-9](?:_?[0-9])*"
        decimal = r"[+-]?(?:0|[1-9](?:_?[0-9])*)"
        if re.fullmatch(decimal, token):
            return int(token)
        for prefix, alphabet, base in (
            ("0x", "[0-9A-Fa-f]", 16),
            ("0o", "[0-7]", 8),
            ("0b", "[01]", 2),
        ):
            if re.fullmatch(rf"{prefix}{alphabet}(?:_?{alphabet})*", token):
                return int(token[2:], base)
        if re.fullmatch(rf"{decimal}(?:\.{digits})?(?:[eE][+-]?{digits})?", token) or re.fullmatch(
            r"[+-]?(?:inf|nan)", token
        ):
            return float(token)
        self.pos = start
        if re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}:[0-9]{2}", token):
            raise self.error("dates and times are not supported")
        raise self.error("invalid value")


def _loads_toml_subset(text: str) -> dict[str, Any]:
    """Parse TOML text without tomllib; raises ValueError (with a line number) when it cannot."""
    return _TomlSubsetParser(text).parse()


# --------------------------------------------------------------------------------------


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Resolve every setting: keyword argument > environment > active profile > default.

    `environ` defaults to `os.environ` as it is at the time of the call. Keyword arguments
    use the field names of `Settings` (`api_url=`, `max_retries=`, ...); None means "not
    given". A value that cannot be used raises `SettingsError` naming the setting and where
    the value came from (never the value of `PREFECT_API_KEY`, `PREFECT_API_AUTH_STRING` or
    `PREFECT_CLIENT_CUSTOM_HEADERS`).

    The profiles file is `PREFECT_PROFILES_PATH` if set, else `<home>/profiles.toml`, where
    home comes from the `home=` argument, `PREFECT_HOME` or `~/.prefect`. The active profile
    is `PREFECT_PROFILE` if set, else the file's `active` key, else "ephemeral". A missing
    file or profile just contributes nothing.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    for name in overrides:
        if name not in _SPECS:
            raise TypeError(f"load_settings() got an unexpected keyword argument {name!r}")

    home = _resolve("home", overrides, env, None)
    profile = _load_profile(env, home)
    values = {name: _resolve(name, overrides, env, profile) for name in _SPECS}
    return Settings(**values)


def _resolve(
    name: str, overrides: Mapping[str, Any], env: Mapping[str, str], profile: _Profile | None
) -> Any:
    spec = _SPECS[name]
    override = overrides.get(name)
    if override is not None:
        return _parse(spec, override, f"from the {name}= argument")
    if spec.env in env:
        return _parse(spec, env[spec.env], "from the environment")
    if profile is not None and spec.env in profile.values:
        source = f"from profile {profile.name!r} in {profile.path}"
        return _parse(spec, profile.values[spec.env], source)
    return spec.default()
