"""Settings and the keyring at start-up: production refuses to run without an encryption key;
development generates one once, privately, and keeps using it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from trunkline.app import create_app
from trunkline.config import Environment, Settings
from trunkline.keys import MissingEncryptionKey, load_secret_box
from trunkline.kit.crypto import CryptoError, generate_key


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean TRUNKLINE_* environment in an empty directory (no stray .env file)."""
    import os

    for name in list(os.environ):
        if name.startswith("TRUNKLINE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRUNKLINE_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


class TestProduction:
    def test_refuses_to_start_without_keys(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("TRUNKLINE_ENV", "production")
        settings = Settings()
        assert settings.is_production

        with pytest.raises(MissingEncryptionKey, match="TRUNKLINE_ENCRYPTION_KEYS is required"):
            create_app(settings)
        assert not (settings.data_dir / "secret.key").exists()

    def test_blank_keys_count_as_missing(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("TRUNKLINE_ENV", "production")
        env.setenv("TRUNKLINE_ENCRYPTION_KEYS", "   ")

        with pytest.raises(MissingEncryptionKey):
            create_app(Settings())

    @pytest.mark.parametrize(
        "variable", ["TRUNKLINE_ENCRYPTION_KEYS", "TRUNKLINE_SECURITY__ENCRYPTION_KEYS"]
    )
    def test_starts_with_keys(self, env: pytest.MonkeyPatch, variable: str) -> None:
        env.setenv("TRUNKLINE_ENV", "production")
        spec = generate_key()
        env.setenv(variable, spec)
        settings = Settings()

        create_app(settings)

        assert load_secret_box(settings).current_kid == spec.split(":")[0]
        assert not (settings.data_dir / "secret.key").exists()

    def test_malformed_key_is_refused(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("TRUNKLINE_ENV", "production")
        env.setenv("TRUNKLINE_ENCRYPTION_KEYS", "kid:tooshort")

        with pytest.raises(CryptoError):
            create_app(Settings())

    def test_key_is_not_in_the_settings_repr(self, env: pytest.MonkeyPatch) -> None:
        spec = generate_key()
        env.setenv("TRUNKLINE_ENCRYPTION_KEYS", spec)

        assert spec.split(":")[1] not in repr(Settings())


class TestDevelopmentKey:
    def test_generated_once_with_mode_0600_and_reused(self, env: pytest.MonkeyPatch) -> None:
        settings = Settings()
        assert settings.env is Environment.development
        key_file = settings.data_dir / "secret.key"

        create_app(settings)

        assert key_file.exists()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        first = key_file.read_text()
        kid = first.strip().split(":")[0]

        create_app(Settings())

        assert key_file.read_text() == first
        assert load_secret_box(Settings()).current_kid == kid

    def test_existing_key_file_is_used(self, env: pytest.MonkeyPatch, tmp_path: Path) -> None:
        spec = generate_key()
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "secret.key").write_text(spec + "\n")

        box = load_secret_box(Settings())

        assert box.current_kid == spec.split(":")[0]

    def test_configured_keys_win_over_the_file(self, env: pytest.MonkeyPatch) -> None:
        spec = generate_key()
        env.setenv("TRUNKLINE_ENCRYPTION_KEYS", spec)
        settings = Settings()

        assert load_secret_box(settings).current_kid == spec.split(":")[0]
        assert not (settings.data_dir / "secret.key").exists()


class TestTrustedProxies:
    def test_none_by_default(self, env: pytest.MonkeyPatch) -> None:
        assert Settings().sip.trusted_proxies == []

    @pytest.mark.parametrize("value", ["10.0.0.10, 10.1.0.0/16", '["10.0.0.10", "10.1.0.0/16"]'])
    def test_list_or_comma_separated(self, env: pytest.MonkeyPatch, value: str) -> None:
        env.setenv("TRUNKLINE_SIP__TRUSTED_PROXIES", value)
        assert Settings().sip.trusted_proxies == ["10.0.0.10", "10.1.0.0/16"]

    def test_bad_address_is_refused(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("TRUNKLINE_SIP__TRUSTED_PROXIES", "kamailio.internal")
        with pytest.raises(ValueError, match=r"kamailio\.internal"):
            Settings()


class TestShortcuts:
    def test_top_level_spellings_fill_the_groups(self, env: pytest.MonkeyPatch) -> None:
        env.setenv("TRUNKLINE_DATABASE_URL", "postgresql+asyncpg://db/trunkline")
        env.setenv("TRUNKLINE_HOST", "0.0.0.0")
        env.setenv("TRUNKLINE_PORT", "9000")

        settings = Settings()

        assert settings.database_url_resolved == "postgresql+asyncpg://db/trunkline"
        assert (settings.server.host, settings.server.port) == ("0.0.0.0", 9000)

    def test_default_database_is_sqlite_in_the_data_dir(
        self, env: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        settings = Settings()

        expected = (tmp_path / "data" / "trunkline.db").resolve()
        assert settings.database_url_resolved == f"sqlite+aiosqlite:///{expected}"


class TestDataDir:
    """The server and the CLI find the same data directory wherever they are started."""

    def test_default_is_absolute_under_the_project_root(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        from trunkline.config import project_root

        monkeypatch.delenv("TRUNKLINE_DATA_DIR", raising=False)
        monkeypatch.chdir(tmp_path)

        settings = Settings(_env_file=None)

        root = project_root()
        assert root is not None and (root / "pyproject.toml").is_file()
        assert settings.data_dir == root / "data"

    def test_relative_value_is_relative_to_the_project_root(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        from trunkline.config import project_root

        monkeypatch.chdir(tmp_path)

        settings = Settings(data_dir="var/db", _env_file=None)

        assert settings.data_dir == (project_root() or tmp_path) / "var" / "db"

    def test_outside_a_checkout_the_default_is_the_user_data_dir(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        import trunkline.config as config

        monkeypatch.setattr(config, "project_root", lambda: None)
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))

        assert config.default_data_dir() == tmp_path / "xdg" / "trunkline"
