"""Settings from the environment."""
from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, Settings, redact_url


def test_defaults_put_sqlite_in_the_instance_folder(tmp_path: Path) -> None:
    settings = Settings.from_env({"OPERATOROS_HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'operatoros.db'}"
    assert settings.provider == "auto" and settings.task_backend == "local"
    assert settings.openai_api_key is None


def test_postgres_urls_use_psycopg3() -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgres://u:pw@db:5432/app"})
    assert settings.database_url == "postgresql+psycopg://u:pw@db:5432/app"
    assert settings.safe_database_url == "postgresql+psycopg://u:***@db:5432/app"


@pytest.mark.parametrize("url, shown", [
    ("postgresql://user:s3cr3t@host/db", "postgresql://user:***@host/db"),
    ("redis://:pass@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_redact_url_hides_passwords(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_secrets_are_not_in_the_repr() -> None:
    settings = Settings.from_env({"OPENAI_API_KEY": "sk-very-secret", "OPERATOROS_API_KEY": "admin-secret"})
    assert "sk-very-secret" not in repr(settings) and "admin-secret" not in repr(settings)


@pytest.mark.parametrize("name, value", [("OPERATOROS_PROVIDER", "gpt"), ("TASK_BACKEND", "kafka"),
                                         ("OPERATOROS_MAX_CONTENT_LENGTH", "lots"), ("OPERATOROS_DRAFTS", "maybe")])
def test_invalid_values_are_refused_with_their_name(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize("value, drafts", [(None, True), ("", True), ("0", False), ("off", False), ("1", True),
                                           (" True ", True), ("no", False)])
def test_drafts_are_on_unless_turned_off(value: str | None, drafts: bool) -> None:
    assert Settings.from_env({} if value is None else {"OPERATOROS_DRAFTS": value}).drafts is drafts
