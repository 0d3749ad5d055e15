"""Typed settings helpers: every setting comes from the environment and fails loudly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse


class SettingError(RuntimeError):
    """A setting is present but cannot be understood."""


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "")
    return value if value != "" else default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingError(f"{name}={raw!r} is not a boolean (use true/false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingError(f"{name}={raw!r} is not an integer") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


LOCKOUT_KEYS = ("username", "ip_address")


def lockout_parameters(items: list[str]) -> list[str | list[str]]:
    """``WINBACK_SIGNIN_LOCK_BY``: what a run of failed sign-ins locks, e.g. ``username`` (the
    default), ``ip_address``, or ``username+ip_address`` (that name from that address); several,
    comma-separated, lock when any of them reaches the limit."""
    out: list[str | list[str]] = []
    for item in items:
        keys = [k.strip() for k in item.split("+")]
        unknown = [k for k in keys if k not in LOCKOUT_KEYS]
        if unknown or not keys:
            raise SettingError(
                f"WINBACK_SIGNIN_LOCK_BY={item!r}: use username, ip_address or username+ip_address"
            )
        out.append(keys[0] if len(keys) == 1 else keys)
    if not out:
        raise SettingError("WINBACK_SIGNIN_LOCK_BY must name username and/or ip_address")
    return out


def data_dir() -> Path:
    """Where the embedded database, imports' rejects files and reports live."""
    path = Path(env_str("WINBACK_DATA_DIR", str(Path.cwd() / "var"))).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class DatabaseURL:
    engine: str  # "sqlite" or "postgresql"
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""
    options: tuple[tuple[str, str], ...] = ()

    @property
    def url(self) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{self.name}"
        auth = self.user + (f":{self.password}" if self.password else "")
        at = f"{auth}@" if auth else ""
        port = f":{self.port}" if self.port else ""
        return f"postgresql://{at}{self.host}{port}/{self.name}"


def parse_database_url(raw: str, default_sqlite: Path) -> DatabaseURL:
    """`sqlite:////abs/path.db`, `sqlite:///rel.db` or `postgresql://user:pw@host:port/db`."""
    if raw == "":
        return DatabaseURL(engine="sqlite", name=str(default_sqlite))
    parsed = urlparse(raw)
    scheme = parsed.scheme.lower()
    if scheme == "sqlite":
        # SQLAlchemy convention: sqlite:///relative/path, sqlite:////absolute/path.
        name = unquote(raw[len("sqlite:///") :]) if raw.startswith("sqlite:///") else ""
        if not name:
            raise SettingError(f"WINBACK_DATABASE_URL={raw!r}: no SQLite file path")
        return DatabaseURL(engine="sqlite", name=name)
    if scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
        name = (parsed.path or "/").lstrip("/")
        if not name:
            raise SettingError(f"WINBACK_DATABASE_URL={raw!r}: no database name")
        opts = tuple((k, v[-1]) for k, v in parse_qs(parsed.query).items())
        return DatabaseURL(
            engine="postgresql",
            name=name,
            user=unquote(parsed.username or ""),
            password=unquote(parsed.password or ""),
            host=parsed.hostname or "",
            port=str(parsed.port or ""),
            options=opts,
        )
    raise SettingError(
        f"WINBACK_DATABASE_URL={raw!r}: unsupported scheme {scheme!r} "
        "(use sqlite:///path or postgresql://user@host:port/db)"
    )


def database_url() -> DatabaseURL:
    return parse_database_url(
        os.environ.get("WINBACK_DATABASE_URL", ""), data_dir() / "winback.sqlite3"
    )
