"""Unit tests for prefect_sdk._settings: sources, precedence, parsing, errors, profiles."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import importlib
import os
import re
import sys
import types
from pathlib import Path

import pytest

from prefect_sdk import _settings
from prefect_sdk._settings import Settings, is_cloud_url, load_settings
from prefect_sdk.errors import SettingsError

SAMPLE_PROFILES = """\
active = "local"

[profiles.local]
PREFECT_API_URL = "http://127.0.0.1:4200/api"
PREFECT_API_KEY = "pnu_xxx"

[profiles.other]
PREFECT_API_URL = "https://api.prefect.cloud/api/accounts/a/workspaces/w"
"""

API_KEY = "pnu_TopSecretKey123"
AUTH_STRING = "admin:Hunter2Password"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def home_env(home: Path, **variables: str) -> dict[str, str]:
    """An environment whose PREFECT_HOME is `home`, plus `variables`."""
    return {"PREFECT_HOME": str(home), **variables}


@pytest.fixture
def clean_os_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """os.environ without any PREFECT_* variable, and HOME pointing at an empty tmp dir."""
    for name in list(os.environ):
        if name.startswith("PREFECT_"):
            monkeypatch.delenv(name)
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    return user_home


# --------------------------------------------------------------------------------------
# Defaults and parsing of each variable


def test_defaults(clean_os_environ: Path) -> None:
    settings = load_settings(environ={})

    assert settings.api_url is None
    assert settings.api_key is None
    assert settings.auth_string is None
    assert settings.request_timeout == 60.0
    assert settings.enable_http2 is False
    assert settings.max_retries == 5
    assert settings.retry_extra_codes == frozenset()
    assert settings.retry_jitter_factor == 0.2
    assert settings.csrf_support_enabled is True
    assert dict(settings.custom_headers) == {}
    assert settings.cloud_api_url == "https://api.prefect.cloud/api"
    assert settings.home == clean_os_environ / ".prefect"


def test_settings_are_immutable(tmp_path: Path) -> None:
    settings = load_settings(
        environ=home_env(tmp_path, PREFECT_CLIENT_CUSTOM_HEADERS='{"X-A": "1"}')
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.max_retries = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.custom_headers["X-B"] = "2"  # type: ignore[index]
    assert isinstance(settings.custom_headers, types.MappingProxyType)


def test_every_environment_variable_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    environ = {
        "PREFECT_API_URL": "http://example.test:4200/api/",
        "PREFECT_API_KEY": API_KEY,
        "PREFECT_API_AUTH_STRING": AUTH_STRING,
        "PREFECT_API_REQUEST_TIMEOUT": "12.5",
        "PREFECT_API_ENABLE_HTTP2": "true",
        "PREFECT_CLIENT_MAX_RETRIES": "0",
        "PREFECT_CLIENT_RETRY_EXTRA_CODES": "500, 504",
        "PREFECT_CLIENT_RETRY_JITTER_FACTOR": "0",
        "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "off",
        "PREFECT_CLIENT_CUSTOM_HEADERS": '{"X-Team": "data", "X-Env": "prod"}',
        "PREFECT_CLOUD_API_URL": "https://cloud.example.test/api/",
        "PREFECT_HOME": "~/prefect-home",
    }
    settings = load_settings(environ=environ)

    assert settings.api_url == "http://example.test:4200/api"
    assert settings.api_key == API_KEY
    assert settings.auth_string == AUTH_STRING
    assert settings.request_timeout == 12.5
    assert settings.enable_http2 is True
    assert settings.max_retries == 0
    assert settings.retry_extra_codes == frozenset({500, 504})
    assert settings.retry_jitter_factor == 0.0
    assert settings.csrf_support_enabled is False
    assert dict(settings.custom_headers) == {"X-Team": "data", "X-Env": "prod"}
    assert settings.cloud_api_url == "https://cloud.example.test/api"
    assert settings.home == tmp_path / "user" / "prefect-home"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("Yes", True),
        ("on", True),
        ("false", False),
        ("False", False),
        ("0", False),
        ("NO", False),
        ("off", False),
    ],
)
def test_boolean_spellings(tmp_path: Path, text: str, expected: bool) -> None:
    settings = load_settings(
        environ=home_env(
            tmp_path,
            PREFECT_API_ENABLE_HTTP2=text,
            PREFECT_CLIENT_CSRF_SUPPORT_ENABLED=text,
        )
    )
    assert settings.enable_http2 is expected
    assert settings.csrf_support_enabled is expected


def test_empty_retry_codes_is_an_empty_set_even_over_a_profile(tmp_path: Path) -> None:
    write(
        tmp_path / "profiles.toml",
        'active = "p"\n[profiles.p]\nPREFECT_CLIENT_RETRY_EXTRA_CODES = "502"\n',
    )
    from_profile = load_settings(environ=home_env(tmp_path))
    assert from_profile.retry_extra_codes == frozenset({502})

    emptied = load_settings(environ=home_env(tmp_path, PREFECT_CLIENT_RETRY_EXTRA_CODES=""))
    assert emptied.retry_extra_codes == frozenset()


def test_overrides_use_field_names_and_are_parsed(tmp_path: Path) -> None:
    settings = load_settings(
        environ=home_env(tmp_path),
        api_url="http://override.test/api/",
        max_retries=2,
        retry_extra_codes=[502, 503],
        enable_http2=True,
        custom_headers={"X-A": "b"},
        home=tmp_path / "elsewhere",
    )
    assert settings.api_url == "http://override.test/api"
    assert settings.max_retries == 2
    assert settings.retry_extra_codes == frozenset({502, 503})
    assert settings.enable_http2 is True
    assert dict(settings.custom_headers) == {"X-A": "b"}
    assert settings.home == tmp_path / "elsewhere"


def test_unknown_override_is_a_type_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="max_retry"):
        load_settings(environ=home_env(tmp_path), max_retry=3)


# --------------------------------------------------------------------------------------
# Precedence and profiles


def test_precedence_override_then_environment_then_profile_then_default(tmp_path: Path) -> None:
    write(
        tmp_path / "profiles.toml",
        """\
active = "work"

[profiles.work]
PREFECT_CLIENT_MAX_RETRIES = "1"
PREFECT_API_REQUEST_TIMEOUT = "11"
PREFECT_API_URL = "http://profile.test/api"
""",
    )
    environ = home_env(
        tmp_path,
        PREFECT_CLIENT_MAX_RETRIES="2",
        PREFECT_API_REQUEST_TIMEOUT="22",
    )
    settings = load_settings(environ=environ, max_retries=3)

    assert settings.max_retries == 3  # override beats environment and profile
    assert settings.request_timeout == 22.0  # environment beats profile
    assert settings.api_url == "http://profile.test/api"  # profile beats default
    assert settings.retry_jitter_factor == 0.2  # nothing set: default

    # The same setting falls through each layer as the higher ones are removed.
    assert load_settings(environ=environ).max_retries == 2
    assert load_settings(environ=home_env(tmp_path)).max_retries == 1
    assert load_settings(environ=home_env(tmp_path / "no-profiles")).max_retries == 5


def test_none_override_means_not_given(tmp_path: Path) -> None:
    settings = load_settings(
        environ=home_env(tmp_path, PREFECT_API_URL="http://env.test/api"), api_url=None
    )
    assert settings.api_url == "http://env.test/api"


def test_active_profile_from_the_file(tmp_path: Path) -> None:
    write(tmp_path / "profiles.toml", SAMPLE_PROFILES)
    settings = load_settings(environ=home_env(tmp_path))
    assert settings.api_url == "http://127.0.0.1:4200/api"
    assert settings.api_key == "pnu_xxx"


def test_prefect_profile_selects_a_non_active_profile(tmp_path: Path) -> None:
    write(tmp_path / "profiles.toml", SAMPLE_PROFILES)
    settings = load_settings(environ=home_env(tmp_path, PREFECT_PROFILE="other"))
    assert settings.api_url == "https://api.prefect.cloud/api/accounts/a/workspaces/w"
    assert settings.api_key is None


def test_without_an_active_key_the_ephemeral_profile_is_used(tmp_path: Path) -> None:
    write(
        tmp_path / "profiles.toml",
        '[profiles.ephemeral]\nPREFECT_CLIENT_MAX_RETRIES = "9"\n'
        '[profiles.local]\nPREFECT_CLIENT_MAX_RETRIES = "1"\n',
    )
    assert load_settings(environ=home_env(tmp_path)).max_retries == 9


def test_prefect_profiles_path_replaces_home_profiles_toml(tmp_path: Path) -> None:
    write(
        tmp_path / "home" / "profiles.toml",
        'active = "a"\n[profiles.a]\nPREFECT_API_URL = "http://home.test"\n',
    )
    custom = write(
        tmp_path / "custom" / "my-profiles.toml",
        'active = "a"\n[profiles.a]\nPREFECT_API_URL = "http://custom.test"\n',
    )
    assert load_settings(environ=home_env(tmp_path / "home")).api_url == "http://home.test"
    settings = load_settings(environ=home_env(tmp_path / "home", PREFECT_PROFILES_PATH=str(custom)))
    assert settings.api_url == "http://custom.test"


def test_home_override_locates_the_profiles_file(tmp_path: Path) -> None:
    write(
        tmp_path / "other-home" / "profiles.toml",
        'active = "a"\n[profiles.a]\nPREFECT_CLIENT_MAX_RETRIES = "8"\n',
    )
    settings = load_settings(environ=home_env(tmp_path / "home"), home=tmp_path / "other-home")
    assert settings.max_retries == 8


def test_prefect_home_with_tilde_locates_the_profiles_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write(
        tmp_path / "ph" / "profiles.toml",
        'active = "a"\n[profiles.a]\nPREFECT_CLIENT_MAX_RETRIES = "4"\n',
    )
    settings = load_settings(environ={"PREFECT_HOME": "~/ph"})
    assert settings.home == tmp_path / "ph"
    assert settings.max_retries == 4


def test_missing_file_and_missing_profile_give_defaults(tmp_path: Path) -> None:
    settings = load_settings(environ=home_env(tmp_path / "does-not-exist"))
    assert settings.api_url is None and settings.max_retries == 5

    write(tmp_path / "profiles.toml", SAMPLE_PROFILES)
    settings = load_settings(environ=home_env(tmp_path, PREFECT_PROFILE="nope"))
    assert settings.api_url is None and settings.api_key is None


def test_profile_values_may_be_toml_numbers_and_booleans(tmp_path: Path) -> None:
    write(
        tmp_path / "profiles.toml",
        """\
active = "typed"
[profiles.typed]
PREFECT_CLIENT_MAX_RETRIES = 3
PREFECT_API_REQUEST_TIMEOUT = 2.5
PREFECT_API_ENABLE_HTTP2 = true
PREFECT_CLIENT_CSRF_SUPPORT_ENABLED = 0
PREFECT_CLIENT_RETRY_EXTRA_CODES = 503
""",
    )
    settings = load_settings(environ=home_env(tmp_path))
    assert settings.max_retries == 3
    assert settings.request_timeout == 2.5
    assert settings.enable_http2 is True
    assert settings.csrf_support_enabled is False
    assert settings.retry_extra_codes == frozenset({503})


# --------------------------------------------------------------------------------------
# Malformed values


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("PREFECT_API_REQUEST_TIMEOUT", "abc", "is not a number"),
        ("PREFECT_API_REQUEST_TIMEOUT", "0", "greater than 0"),
        ("PREFECT_API_REQUEST_TIMEOUT", "-5", "greater than 0"),
        ("PREFECT_API_REQUEST_TIMEOUT", "nan", "finite"),
        ("PREFECT_CLIENT_MAX_RETRIES", "abc", "is not a whole number"),
        ("PREFECT_CLIENT_MAX_RETRIES", "1.5", "is not a whole number"),
        ("PREFECT_CLIENT_MAX_RETRIES", "-1", "0 or more"),
        ("PREFECT_CLIENT_RETRY_JITTER_FACTOR", "lots", "is not a number"),
        ("PREFECT_CLIENT_RETRY_JITTER_FACTOR", "-0.1", "0 or more"),
        ("PREFECT_CLIENT_RETRY_EXTRA_CODES", "500, abc", "'abc'"),
        ("PREFECT_CLIENT_RETRY_EXTRA_CODES", "99", "not an HTTP status code"),
        ("PREFECT_CLIENT_RETRY_EXTRA_CODES", "600", "not an HTTP status code"),
        ("PREFECT_API_ENABLE_HTTP2", "maybe", "is not a boolean"),
        ("PREFECT_CLIENT_CSRF_SUPPORT_ENABLED", "2", "is not a boolean"),
        ("PREFECT_CLIENT_CUSTOM_HEADERS", "{not json", "is not valid JSON"),
        ("PREFECT_CLIENT_CUSTOM_HEADERS", '["X-A"]', "JSON object"),
        ("PREFECT_CLIENT_CUSTOM_HEADERS", '{"X-A": 1}', "strings"),
        ("PREFECT_CLOUD_API_URL", "", "is empty"),
    ],
)
def test_malformed_environment_value_is_a_one_line_settings_error(
    tmp_path: Path, variable: str, value: str, reason: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=home_env(tmp_path, **{variable: value}))
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert message.startswith(variable)
    assert "(from the environment)" in message
    assert reason in message
    assert "\n" not in message


def test_malformed_value_message_shows_the_value() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            environ={
                "PREFECT_CLIENT_MAX_RETRIES": "abc",
                "PREFECT_PROFILES_PATH": "/nonexistent/p.toml",
            }
        )
    assert str(caught.value) == (
        "PREFECT_CLIENT_MAX_RETRIES='abc' (from the environment) is not a whole number"
    )


def test_malformed_profile_value_names_the_profile_and_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "profiles.toml",
        'active = "bad"\n[profiles.bad]\nPREFECT_API_ENABLE_HTTP2 = "sometimes"\n',
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=home_env(tmp_path))
    message = str(caught.value)
    assert message.startswith("PREFECT_API_ENABLE_HTTP2='sometimes'")
    assert f"from profile 'bad' in {path}" in message


def test_malformed_override_names_the_argument(tmp_path: Path) -> None:
    with pytest.raises(
        SettingsError, match=r"PREFECT_CLIENT_MAX_RETRIES=-2 \(from the max_retries= argument\)"
    ):
        load_settings(environ=home_env(tmp_path), max_retries=-2)


# --------------------------------------------------------------------------------------
# Secrets


def test_secrets_are_not_in_repr_or_str(tmp_path: Path) -> None:
    settings = load_settings(
        environ=home_env(
            tmp_path,
            PREFECT_API_URL="http://visible.test/api",
            PREFECT_API_KEY=API_KEY,
            PREFECT_API_AUTH_STRING=AUTH_STRING,
        )
    )
    assert settings.api_key == API_KEY and settings.auth_string == AUTH_STRING
    for text in (repr(settings), str(settings)):
        assert "http://visible.test/api" in text
        assert API_KEY not in text
        assert AUTH_STRING not in text


@pytest.mark.parametrize("variable", ["PREFECT_API_KEY", "PREFECT_API_AUTH_STRING"])
def test_secret_values_are_not_in_error_messages(tmp_path: Path, variable: str) -> None:
    secret = "pnu_Leaky\x07Value"
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=home_env(tmp_path, **{variable: secret}))
    message = str(caught.value)
    assert variable in message
    assert "Leaky" not in message

    write(tmp_path / "profiles.toml", f'active = "p"\n[profiles.p]\n{variable} = 123456789\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=home_env(tmp_path))
    assert variable in str(caught.value)
    assert "123456789" not in str(caught.value)


def test_custom_header_values_are_not_in_error_messages(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            environ=home_env(
                tmp_path, PREFECT_CLIENT_CUSTOM_HEADERS='{"Authorization": 42, "x": "Bearer tok"}'
            )
        )
    assert "PREFECT_CLIENT_CUSTOM_HEADERS" in str(caught.value)
    assert "Bearer tok" not in str(caught.value)


def test_invalid_toml_names_the_file_without_its_content(
    toml_module: types.ModuleType, tmp_path: Path
) -> None:
    # tomllib's (and tomli's) own message for a table declared twice quotes the table's name.
    path = write(
        tmp_path / "profiles.toml",
        '[profiles.pnu_LeakySecret]\nPREFECT_API_KEY = "pnu_x"\n[profiles.pnu_LeakySecret]\n',
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=home_env(tmp_path))
    message = str(caught.value)
    assert str(path) in message
    assert "not valid TOML" in message
    assert "line 3" in message
    assert "LeakySecret" not in message
    assert "\n" not in message


# --------------------------------------------------------------------------------------
# Profiles file problems


def test_unreadable_profiles_file_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read the Prefect profiles file"):
        load_settings(environ=home_env(tmp_path, PREFECT_PROFILES_PATH=str(tmp_path)))


def test_non_utf8_profiles_file_is_a_settings_error(tmp_path: Path) -> None:
    (tmp_path / "profiles.toml").write_bytes(b'active = "\xff"\n')
    with pytest.raises(SettingsError, match="not UTF-8"):
        load_settings(environ=home_env(tmp_path))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("active = 3\n", "'active'"),
        ('profiles = "x"\n', "'profiles'"),
        ('active = "a"\n[profiles]\na = 1\n', "profile 'a'"),
    ],
)
def test_badly_shaped_profiles_file_is_a_settings_error(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = write(tmp_path / "profiles.toml", text)
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=home_env(tmp_path))
    assert fragment in str(caught.value)
    assert str(path) in str(caught.value)


# --------------------------------------------------------------------------------------
# Read at call time


def test_settings_are_read_at_call_time(
    clean_os_environ: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://first.test/api")
    assert load_settings().api_url == "http://first.test/api"

    monkeypatch.setenv("PREFECT_API_URL", "http://second.test/api")
    assert load_settings().api_url == "http://second.test/api"

    # The profiles file is read afresh too.
    monkeypatch.delenv("PREFECT_API_URL")
    profiles = clean_os_environ / ".prefect" / "profiles.toml"
    write(profiles, 'active = "a"\n[profiles.a]\nPREFECT_CLIENT_MAX_RETRIES = "1"\n')
    assert load_settings().max_retries == 1
    write(profiles, 'active = "a"\n[profiles.a]\nPREFECT_CLIENT_MAX_RETRIES = "2"\n')
    assert load_settings().max_retries == 2


# --------------------------------------------------------------------------------------
# is_cloud_url


@pytest.mark.parametrize(
    ("api_url", "cloud_api_url", "expected"),
    [
        (
            "https://api.prefect.cloud/api/accounts/a/workspaces/w",
            "https://api.prefect.cloud/api",
            True,
        ),
        ("https://api.prefect.cloud/api/", "https://api.prefect.cloud/api", True),
        ("https://api.prefect.cloud/api", "https://api.prefect.cloud/api/", True),
        ("http://127.0.0.1:4200/api", "https://api.prefect.cloud/api", False),
        ("https://api.prefect.cloud/apix", "https://api.prefect.cloud/api", False),
        ("https://api.prefect.cloud/api", "", False),
    ],
)
def test_is_cloud_url(api_url: str, cloud_api_url: str, expected: bool) -> None:
    assert is_cloud_url(api_url, cloud_api_url) is expected


# --------------------------------------------------------------------------------------
# The TOML reader: tomllib on Python 3.11+, tomli on 3.10

# Valid TOML that the hand-written 3.10 reader tomli replaced refused (a date-time, an array
# of tables): each version reads all of it now.
FULL_TOML = """\
active = "a"
written = 1979-05-27T07:32:00Z

[[history]]
profile = "a"

[[history]]
profile = "b"

[profiles.a]
PREFECT_CLIENT_MAX_RETRIES = 6
"""


@pytest.fixture(params=["tomllib", "tomli"])
def toml_module(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> types.ModuleType:
    """The module load_settings() must parse with: tomllib, or tomli as on Python 3.10."""
    if request.param == "tomllib":
        if sys.version_info < (3, 11):
            pytest.skip("tomllib is new in Python 3.11")
        return importlib.import_module("tomllib")
    module = pytest.importorskip("tomli")  # a dev dependency on every version
    monkeypatch.setattr(_settings, "sys", types.SimpleNamespace(version_info=(3, 10, 0)))
    return module


def test_profiles_are_parsed_with_tomllib_or_on_python_310_tomli(
    toml_module: types.ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[dict[str, object]] = []
    real_loads = toml_module.loads

    def spy(text: str) -> dict[str, object]:
        parsed.append(real_loads(text))
        return parsed[-1]

    def refuse(text: str) -> dict[str, object]:
        raise AssertionError("parsed with the wrong TOML module")

    monkeypatch.setattr(toml_module, "loads", spy)
    for name in {"tomllib", "tomli"} - {toml_module.__name__}:
        with contextlib.suppress(ImportError):
            monkeypatch.setattr(importlib.import_module(name), "loads", refuse)
    write(tmp_path / "profiles.toml", FULL_TOML)

    assert load_settings(environ=home_env(tmp_path)).max_retries == 6
    [document] = parsed
    assert document["written"] == datetime.datetime(
        1979, 5, 27, 7, 32, tzinfo=datetime.timezone.utc
    )
    assert document["history"] == [{"profile": "a"}, {"profile": "b"}]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a = ", r"at (end of document|line 1, column 5)"),
        ("a = 1\na = 2\n", "at line 2, column 6"),
        ("[t]\nx = 1\n[t]\n", "at line 3, column 3"),
        ('a = "unterminated\n', "at line 1, column 18"),
        ("a = 01\n", "at line 1, column 6"),
        ('a = "\\q"\n', "at line 1, column 8"),
        ("a = 1\n\n[a]\n", "at line 3, column 3"),
        ('active = "a"\n[profiles.a\n', "at line 2, column 12"),
    ],
)
def test_malformed_profiles_file_is_a_one_line_settings_error_with_the_position(
    toml_module: types.ModuleType, tmp_path: Path, text: str, where: str
) -> None:
    path = write(tmp_path / "profiles.toml", text)
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=home_env(tmp_path))
    message = str(caught.value)
    assert re.fullmatch(
        rf"the Prefect profiles file {re.escape(str(path))} is not valid TOML \({where}\)", message
    ), message


def test_toml_position_reads_the_attributes_or_else_the_message(
    toml_module: types.ModuleType,
) -> None:
    with pytest.raises(ValueError) as caught:
        toml_module.loads("a = 1\na = 2\n")
    assert _settings._toml_position(caught.value) == "at line 2, column 6"

    # Python 3.14's tomllib and tomli 2.1+ have lineno/colno, which win over the message.
    error = ValueError("Cannot declare ('pnu_secret',) twice (at line 9, column 9)")
    error.lineno, error.colno = 3, 1  # type: ignore[attr-defined]
    assert _settings._toml_position(error) == "at line 3, column 1"
    # Older ones only end the message with the position.
    assert _settings._toml_position(ValueError("Invalid value (at end of document)")) == (
        "at end of document"
    )
    assert _settings._toml_position(ValueError("Cannot declare ('x',) twice")) == (
        "position unknown"
    )


def test_settings_fields_match_the_documented_api() -> None:
    names = [f.name for f in dataclasses.fields(Settings)]
    assert names == [
        "api_url",
        "api_key",
        "auth_string",
        "request_timeout",
        "enable_http2",
        "max_retries",
        "retry_extra_codes",
        "retry_jitter_factor",
        "csrf_support_enabled",
        "custom_headers",
        "cloud_api_url",
        "home",
        "tls_insecure_skip_verify",
        "ssl_cert_file",
    ]


# --------------------------------------------------------------------------------------
# TLS: PREFECT_API_TLS_INSECURE_SKIP_VERIFY and PREFECT_API_SSL_CERT_FILE


def test_tls_settings_default_to_verifying_with_the_usual_bundle(tmp_path: Path) -> None:
    settings = load_settings(environ=home_env(tmp_path))
    assert settings.tls_insecure_skip_verify is False
    assert settings.ssl_cert_file is None
    assert _settings.tls_verify(settings) is None  # httpx's own default


def test_tls_settings_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        environ=home_env(
            tmp_path,
            PREFECT_API_TLS_INSECURE_SKIP_VERIFY="yes",
            PREFECT_API_SSL_CERT_FILE=" ~/ca.pem ",
        )
    )
    assert settings.tls_insecure_skip_verify is True
    assert settings.ssl_cert_file == Path("~/ca.pem").expanduser()


def test_tls_settings_from_the_profile(tmp_path: Path) -> None:
    write(
        tmp_path / "profiles.toml",
        'active = "p"\n[profiles.p]\n'
        'PREFECT_API_TLS_INSECURE_SKIP_VERIFY = true\nPREFECT_API_SSL_CERT_FILE = "/ca.pem"\n',
    )
    settings = load_settings(environ=home_env(tmp_path))
    assert settings.tls_insecure_skip_verify is True
    assert settings.ssl_cert_file == Path("/ca.pem")


def test_empty_cert_file_means_none(tmp_path: Path) -> None:
    settings = load_settings(environ=home_env(tmp_path, PREFECT_API_SSL_CERT_FILE=""))
    assert settings.ssl_cert_file is None


def test_malformed_skip_verify_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^PREFECT_API_TLS_INSECURE_SKIP_VERIFY='maybe' "):
        load_settings(environ=home_env(tmp_path, PREFECT_API_TLS_INSECURE_SKIP_VERIFY="maybe"))


def test_skip_verify_gives_an_unverifying_context_even_with_a_cert_file(tmp_path: Path) -> None:
    import ssl

    settings = load_settings(
        environ=home_env(
            tmp_path,
            PREFECT_API_TLS_INSECURE_SKIP_VERIFY="true",
            PREFECT_API_SSL_CERT_FILE=str(tmp_path / "missing.pem"),  # not even read
        )
    )
    context = _settings.tls_verify(settings)
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_NONE and context.check_hostname is False


def test_cert_file_gives_a_verifying_context_holding_it(tmp_path: Path) -> None:
    import ssl

    cert = Path(ssl.get_default_verify_paths().openssl_cafile or "")
    if not cert.is_file():
        import certifi

        cert = Path(certifi.where())
    settings = load_settings(environ=home_env(tmp_path, PREFECT_API_SSL_CERT_FILE=str(cert)))
    context = _settings.tls_verify(settings)
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is True
    assert context.cert_store_stats()["x509_ca"] > 0


def test_unreadable_cert_file_is_a_settings_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    settings = load_settings(environ=home_env(tmp_path, PREFECT_API_SSL_CERT_FILE=str(missing)))
    with pytest.raises(SettingsError, match=r"^PREFECT_API_SSL_CERT_FILE='.*missing\.pem' cannot"):
        _settings.tls_verify(settings)
