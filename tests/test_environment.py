from pathlib import Path

import pytest

from winback.environment import SettingError, env_bool, lockout_parameters, parse_database_url


def test_default_is_sqlite_file_under_data_dir(tmp_path: Path) -> None:
    url = parse_database_url("", tmp_path / "w.sqlite3")
    assert url.engine == "sqlite"
    assert url.name == str(tmp_path / "w.sqlite3")


def test_postgres_url_is_split() -> None:
    url = parse_database_url("postgresql://postgres:pw@127.0.0.1:5432/winback", Path("x"))
    assert (url.engine, url.user, url.password, url.host, url.port, url.name) == (
        "postgresql",
        "postgres",
        "pw",
        "127.0.0.1",
        "5432",
        "winback",
    )


def test_absolute_sqlite_path() -> None:
    assert parse_database_url("sqlite:////tmp/a.db", Path("x")).name == "/tmp/a.db"


@pytest.mark.parametrize("raw", ["mysql://x/y", "postgresql://host/"])
def test_bad_urls_fail_loudly(raw: str) -> None:
    with pytest.raises(SettingError):
        parse_database_url(raw, Path("x"))


def test_bad_boolean_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINBACK_X", "maybe")
    with pytest.raises(SettingError):
        env_bool("WINBACK_X", False)


@pytest.mark.django_db
def test_schema_migrates_and_holds_a_customer() -> None:
    from winback.store.customers.models import Customer

    Customer.objects.create(external_id="C1", name="张三")
    assert Customer.objects.get(external_id="C1").name == "张三"


def test_lockout_parameters_read_names_addresses_and_pairs() -> None:
    assert lockout_parameters(["username", "ip_address", "username+ip_address"]) == [
        "username",
        "ip_address",
        ["username", "ip_address"],
    ]


@pytest.mark.parametrize("raw", [["user_agent"], ["username+cookie"], []])
def test_lockout_parameters_refuse_what_they_cannot_count(raw: list[str]) -> None:
    with pytest.raises(SettingError, match="WINBACK_SIGNIN_LOCK_BY"):
        lockout_parameters(raw)
