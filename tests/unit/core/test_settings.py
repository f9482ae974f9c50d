from __future__ import annotations

from pathlib import Path

import pytest

from lakevault.core import LogFormat, config_file_path, load_settings, mask_url_password
from lakevault.core.errors import ConfigurationError


def test_defaults_are_the_embedded_platform_on_loopback() -> None:
    settings = load_settings({})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith(".lakevault/metadata.db")
    assert settings.effective_object_store_url.endswith(".lakevault/objects")
    assert settings.log_format is LogFormat.JSON


def test_environment_overrides_file_and_options_override_environment() -> None:
    settings = load_settings(
        {"LAKEVAULT_PORT": "9001", "LAKEVAULT_HOST": "0.0.0.0"},
        config_text='port = 9000\nregion = "eu-west-1"\n',
        overrides={"host": "127.0.0.2"},
    )
    assert settings.port == 9001
    assert settings.region == "eu-west-1"
    assert settings.host == "127.0.0.2"


def test_home_moves_the_embedded_database_and_objects(tmp_path: Path) -> None:
    settings = load_settings({"LAKEVAULT_HOME": str(tmp_path / "lv")})
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'lv' / 'metadata.db'}"
    assert settings.effective_object_store_url == (tmp_path / "lv" / "objects").as_uri()


def test_unknown_environment_variable_is_an_error_naming_it_and_the_known_keys() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"LAKEVAULT_DATABSE_URL": "sqlite:///x"})
    assert "LAKEVAULT_DATABSE_URL" in caught.value.message
    assert "database_url" in caught.value.message


def test_unknown_file_key_is_an_error_naming_file_and_key() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown setting 'prot' in lakevault.toml"):
        load_settings({}, config_text="prot = 1\n")


def test_invalid_value_names_key_source_and_gives_an_example() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"LAKEVAULT_PORT": "99999"})
    message = caught.value.message
    assert "'port'" in message
    assert "environment variable LAKEVAULT_PORT" in message
    assert "port = 8080" in message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"LAKEVAULT_PORT": "x", "LAKEVAULT_WORKERS": "-1"})
    assert "'port'" in caught.value.message and "'workers'" in caught.value.message


def test_bad_database_url_error_never_echoes_the_secret() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"LAKEVAULT_DATABASE_URL": "mysql://user:hunter2-secret@db/lv"})
    assert "hunter2-secret" not in caught.value.message
    assert "postgresql://" in caught.value.message


def test_invalid_toml_says_how_to_write_it() -> None:
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_settings({}, config_text="port = = 1")


def test_postgres_urls_are_normalised_to_psycopg3() -> None:
    settings = load_settings({"LAKEVAULT_DATABASE_URL": "postgresql://u:p@h:5432/d"})
    assert settings.effective_database_url == "postgresql+psycopg://u:p@h:5432/d"


def test_masked_settings_hide_the_database_password() -> None:
    settings = load_settings({"LAKEVAULT_DATABASE_URL": "postgresql://u:s3cr3t@h:5432/d"})
    shown = settings.masked()
    assert shown["database_url"] == "postgresql+psycopg://u:***@h:5432/d"
    assert "s3cr3t" not in repr(settings)
    assert all("s3cr3t" not in value for value in shown.values())


def test_mask_leaves_urls_without_password_alone() -> None:
    assert mask_url_password("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(Exception, match="frozen"):
        settings.port = 1  # type: ignore[misc]


def test_config_file_is_explicit_or_in_the_working_directory(tmp_path: Path) -> None:
    assert config_file_path({}, tmp_path) is None
    (tmp_path / "lakevault.toml").write_text("port = 1\n")
    assert config_file_path({}, tmp_path) == tmp_path / "lakevault.toml"
    assert config_file_path({"LAKEVAULT_CONFIG": "/etc/lv.toml"}, tmp_path) == Path("/etc/lv.toml")
