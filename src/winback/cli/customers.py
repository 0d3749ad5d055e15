"""`winback customer erase|export-personal-data`: the personal-data lifecycle (R13, PIPL)."""

from __future__ import annotations

from pathlib import Path

import typer

from winback.cli.common import console, django_setup, operator, os_user, print_json

customer_app = typer.Typer(help="One customer's personal data: erase it, or hand it over.")


def register(app: typer.Typer, export_app: typer.Typer) -> None:
    del export_app
    app.add_typer(customer_app, name="customer")


@customer_app.command("erase")
def erase(
    ids: list[str] = typer.Argument(..., help="The business's own customer ids."),
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)."),
    as_user: str = typer.Option(
        "", "--as", help="The workbench admin you act as (default: the machine's operator)."
    ),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Erase customers' identity from every table, the data folder, exports and reports."""
    django_setup()
    from winback.app.actors import Actor
    from winback.app.customers.privacy import UnknownCustomers, erase_customers

    actor = (
        operator(as_user, "erase_personal_data") if as_user else Actor.system(f"cli:{os_user()}")
    )
    if not yes and not typer.confirm(f"Erase {len(ids)} customer(s)? This cannot be undone"):
        raise typer.Exit(1)
    try:
        result = erase_customers(actor, external_ids=ids, reason=reason)
    except UnknownCustomers as exc:
        console.print(f"[red]No such customer: {exc}[/red]")
        raise typer.Exit(2) from None
    if as_json:
        print_json(result.to_dict())
        return
    console.print(
        f"{result.erased} erased ({result.already_erased} already), "
        f"{len(result.files_rewritten)} files rewritten, {len(result.files_deleted)} deleted, "
        f"{result.reports_deleted} cached reports deleted"
    )


@customer_app.command("export-personal-data")
def export_personal_data(
    customer_id: str = typer.Argument(..., help="The business's own customer id."),
    out: Path = typer.Option(..., "--out", help="The JSON file to write."),
    as_user: str = typer.Option("", "--as", help="The workbench admin you act as."),
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)."),
) -> None:
    """Everything held about one customer as a UTF-8 JSON file (audited)."""
    django_setup()
    from winback.app.customers.privacy import UnknownCustomers
    from winback.app.customers.privacy import export_personal_data as run

    actor = operator(as_user, "export_personal_data")
    try:
        made = run(actor, external_id=customer_id, out=out, reason=reason)
    except UnknownCustomers as exc:
        console.print(f"[red]No such customer: {exc}[/red]")
        raise typer.Exit(2) from None
    console.print(
        f"{made.orders} orders, {made.contacts} contacts, {made.events} events -> {made.path}"
    )
