"""The SDK's settings, read with Prefect's own names every time they are asked for.

`load_settings()` takes each setting from, in order of precedence: a keyword argument
(when not None), the environment, the active profile of Prefect's `profiles.toml`, and
finally the default. Nothing is cached: each call reads the environment and the profiles
file afresh, so a change to either is seen by the next call. The profiles file is parsed
with the standard library's tomllib, or on Python 3.10 with tomli (a dependency there only).
"""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ._redact import redact
from .errors import SettingsError

if TYPE_CHECKING:
    import ssl

__all__ = ["Settings", "is_cloud_url", "load_settings", "tls_verify"]

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
    # TLS of https:// and wss:// connections (see `tls_verify`).
    tls_insecure_skip_verify: bool = False
    ssl_cert_file: Path | None = None


def is_cloud_url(api_url: str, cloud_api_url: str) -> bool:
    """True when `api_url` is `cloud_api_url` or a path below it (trailing slashes ignored)."""
    url = api_url.rstrip("/")
    base = cloud_api_url.rstrip("/")
    if not base:
        return False
    return url == base or url.startswith(base + "/")


def tls_verify(settings: Settings) -> ssl.SSLContext | None:
    """The httpx `verify` (and websockets `ssl`) that Prefect's TLS settings ask for, or None
    for the default (verify against the usual CA bundle).

    As in Prefect's client, `PREFECT_API_TLS_INSECURE_SKIP_VERIFY` turns verification off and
    wins over `PREFECT_API_SSL_CERT_FILE`, a CA bundle to verify the server against (for a
    server behind a private CA). A context, not a path: httpx 0.28 deprecates `verify=<path>`,
    and the websockets library only takes a context.
    """
    import ssl

    if settings.tls_insecure_skip_verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if settings.ssl_cert_file is None:
        return None
    try:
        return ssl.create_default_context(cafile=str(settings.ssl_cert_file))
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise SettingsError(
            f"PREFECT_API_SSL_CERT_FILE={str(settings.ssl_cert_file)!r} cannot be used as a "
            f"CA bundle: {reason}"
        ) from None


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
    url = raw.strip().rstrip("/")
    problem = api_url_problem(url) if url else None
    if problem is not None:
        raise _Invalid(problem)
    return url or None


def api_url_problem(url: str) -> str | None:
    """Why `url` cannot be an API URL (phrased to follow the setting's name), or None."""
    if not url.startswith(("http://", "https://")):
        return "must start with http:// or https:// (e.g. http://127.0.0.1:4200/api)"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        return f"is not a URL: {error} (expected e.g. http://127.0.0.1:4200/api)"
    if not parsed.host:
        return "has no host (expected e.g. http://127.0.0.1:4200/api)"
    return None


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


def _parse_optional_path(raw: object) -> Path | None:
    if isinstance(raw, os.PathLike):
        raw = os.fspath(raw)
    if not isinstance(raw, str):
        raise _Invalid("is not a path")
    return Path(raw.strip()).expanduser() if raw.strip() else None


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
    "tls_insecure_skip_verify": _Spec(
        "PREFECT_API_TLS_INSECURE_SKIP_VERIFY", _parse_bool, lambda: False
    ),
    "ssl_cert_file": _Spec("PREFECT_API_SSL_CERT_FILE", _parse_optional_path, lambda: None),
}

_MAX_SHOWN = 80


def _parse(spec: _Spec, raw: object, source: str) -> Any:
    try:
        return spec.parse(raw)
    except _Invalid as invalid:
        if spec.show_value:
            shown = redact(repr(raw))  # no URL password in a message
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
    # Imported here, not at the top: only a call that finds a profiles file pays for it.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10 has no tomllib: tomli is the package tomllib was made from
        import tomli as tomllib
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
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
    """Where a TOML error is, without the rest of its message (which may quote the file).

    tomllib from Python 3.14 on and tomli from 2.1 on give the line and column as attributes;
    the earlier ones only end the message with "(at line X, column Y)" or "(at end of document)".
    """
    line = getattr(error, "lineno", None)
    column = getattr(error, "colno", None)
    if isinstance(line, int) and isinstance(column, int):
        return f"at line {line}, column {column}"
    message = str(error)
    start = message.rfind("(at ")
    if start >= 0 and message.endswith(")"):
        return message[start + 1 : -1]
    return "position unknown"


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
