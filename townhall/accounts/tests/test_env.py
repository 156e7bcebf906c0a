from __future__ import annotations

import pytest

from townhall.config import env


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("TOWNHALL_ENV", "SECRET_KEY", "ALLOWED_HOSTS", "BASE_URL", "EMAIL_URL", "DEBUG", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TOWNHALL_VAR_DIR", str(tmp_path))
    return monkeypatch


def test_env_development_defaults_generate_secret_once(clean_env, tmp_path):
    first = env.load()
    second = env.load()
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert first.database_url.startswith("sqlite:///") and str(tmp_path) in first.database_url
    assert env.problems(first) == []


def test_env_production_names_every_unsafe_setting(clean_env):
    clean_env.setenv("TOWNHALL_ENV", "production")
    clean_env.setenv("DEBUG", "1")
    found = env.problems(env.load())
    text = " ".join(found)
    for setting in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "BASE_URL", "EMAIL_URL"):
        assert setting in text


def test_env_production_safe_configuration_passes(clean_env):
    clean_env.setenv("TOWNHALL_ENV", "production")
    clean_env.setenv("SECRET_KEY", "k" * 64)
    clean_env.setenv("ALLOWED_HOSTS", "townhall.example.com")
    clean_env.setenv("BASE_URL", "https://townhall.example.com")
    clean_env.setenv("EMAIL_URL", "smtp://mailer:secret@smtp.example.com:587?tls=1")
    loaded = env.load()
    assert env.problems(loaded) == []
    assert loaded.email.port == 587 and loaded.email.use_tls and loaded.email.password == "secret"


def test_env_rejects_unknown_email_scheme():
    with pytest.raises(ValueError, match="EMAIL_URL"):
        env.parse_email_url("carrier-pigeon://coop")
