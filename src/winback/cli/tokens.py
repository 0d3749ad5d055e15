"""`winback token issue|list|revoke`: bearer tokens for the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from winback.cli.common import console, django_setup, out, print_json

if TYPE_CHECKING:
    from winback.store.accounts.models import User

token_app = typer.Typer(help="API tokens: issue, list, revoke.", no_args_is_help=True)


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    del export_app
    app.add_typer(token_app, name="token")


def _user(username: str) -> User:
    from winback.store.accounts.models import User

    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        console.print(f"[red]No user {username!r}.[/red]")
        raise typer.Exit(2) from None


@token_app.command("issue")
def issue(
    username: str = typer.Argument(..., help="The user the token acts as (same permissions)."),
    name: str = typer.Option("", "--name", help="What the token is for, e.g. 'crm sync'."),
    expires_days: int | None = typer.Option(
        None, "--expires-days", min=1, help="Expire after this many days (default: never)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Issue a token; it is printed once and only its digest is stored."""
    django_setup()
    from winback.app.accounts.tokens import issue_token

    user = _user(username)
    issued = issue_token(user, name=name, expires_in_days=expires_days)
    t = issued.token
    if as_json:
        print_json(
            {
                "token": issued.secret,
                "prefix": t.prefix,
                "username": username,
                "expires_at": t.expires_at.isoformat() if t.expires_at else None,
            }
        )
        return
    console.print(f"Token for {username} (prefix {t.prefix}); shown only now, keep it secret:")
    out.print(issued.secret, markup=False, highlight=False)


@token_app.command("list")
def list_tokens(
    username: str | None = typer.Option(None, "--user", help="Only this user's tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List tokens by prefix (the secrets themselves are not stored)."""
    django_setup()
    from winback.app.accounts.tokens import tokens_of

    rows = tokens_of(_user(username) if username else None)

    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    data = [
        {
            "prefix": t.prefix,
            "username": t.user.username,
            "name": t.name,
            "created_at": when(t.created_at),
            "expires_at": when(t.expires_at),
            "last_used_at": when(t.last_used_at),
            "revoked_at": when(t.revoked_at),
        }
        for t in rows
    ]
    if as_json:
        print_json(data)
        return
    table = Table("prefix", "user", "name", "created", "expires", "last used", "revoked")
    for d in data:
        table.add_row(
            d["prefix"],
            d["username"],
            d["name"],
            (d["created_at"] or "")[:16],
            (d["expires_at"] or "-")[:16],
            (d["last_used_at"] or "-")[:16],
            (d["revoked_at"] or "-")[:16],
        )
    out.print(table)


@token_app.command("revoke")
def revoke(
    prefix: str | None = typer.Argument(None, help="Token prefix (as listed) or the token."),
    username: str | None = typer.Option(None, "--user", help="Revoke all of this user's tokens."),
) -> None:
    """Revoke a token (or all of a user's); it stops working on the next request."""
    if not prefix and not username:
        console.print("[red]Name a token prefix or --user.[/red]")
        raise typer.Exit(2)
    django_setup()
    from winback.app.accounts.tokens import revoke_tokens

    user = _user(username) if username else None
    try:
        n = revoke_tokens(prefix=prefix, user=user)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"Revoked {n} token(s).")
    if n == 0:
        raise typer.Exit(1)
