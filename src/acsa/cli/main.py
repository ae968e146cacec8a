"""The `acsa` command: global options, `acsa init`, and the command groups."""

from __future__ import annotations

import typer
from sqlalchemy.orm import Session

from acsa import config
from acsa.cli import admin, books, orders, serve, settle
from acsa.cli.common import STATE, JsonOpt, emit, out, run
from acsa.db import migrate
from acsa.db.engine import get_engine
from acsa.parties import service as parties

app = typer.Typer(
    name="acsa", no_args_is_help=True, rich_markup_mode="rich",
    help="Mutual logistics support under Acquisition and Cross-Servicing Agreements: orders "
    "from request to settlement, both parties' books, and an audit chain. Data lives in "
    "ACSA_HOME (default ~/.local/share/acsa); the database is a SQLite file there unless "
    "--db or ACSA_DATABASE_URL names another (postgresql://...).")


@app.callback()
def main(db: str | None = typer.Option(None, "--db", envvar="ACSA_DATABASE_URL",
                                       help="Database URL (sqlite:///file.db or "
                                       "postgresql://user@host/db).")) -> None:
    STATE.db = db


@app.command()
def init(demo: bool = typer.Option(False, "--demo", help="Load the demo story and show its "
                                   "order register and statement of balances."),
         as_json: bool = JsonOpt) -> None:
    """Create or upgrade the database, add the parties and load the agreements."""
    engine = get_engine(STATE.db)
    migrate.upgrade(engine)

    def go(s: Session) -> list[tuple[str, str]]:
        parties.ensure_parties(s)
        from acsa.agreements import service as agreements
        return agreements.load(s)
    loaded = run(go, as_json=as_json)
    if demo:
        from acsa import demo as demo_data
        run(lambda s: demo_data.load(s), as_json=as_json)
    data = {"database": engine.url.render_as_string(), "home": str(config.home()),
            "agreements": [{"code": c, "result": r} for c, r in loaded], "demo": demo}
    if as_json and not demo:
        emit(data, True, lambda: None)
        return
    if not as_json:
        out.print(f"acsa database ready: {engine.url.render_as_string()}", highlight=False)
        for c, r in loaded:
            out.print(f"  agreement {c}: {r}")
    if demo:
        out.print("\n[bold]Demo loaded.[/] The order register and statement of balances:\n")
        orders.list_(agreement=None, state=None, activity=None, party=None, overdue=False,
                     limit=None, as_json=as_json)
        books.balance(as_of=demo_data.TODAY.isoformat(), agreement=None, currency="PHP",
                      as_json=as_json)
        if not as_json:
            creds = config.home() / demo_data.CREDENTIALS_FILE
            out.print("\nTry: acsa orders show PHJP-JP-2026-0001   acsa books ageing --as-of "
                      f"{demo_data.TODAY}   acsa audit verify   acsa --help")
            if creds.exists():
                out.print(f"Sign in to the API (acsa serve) as sato (JP requesting), cruz (PH "
                          f"approving), santos (PH finance), abe (JP finance), ... — "
                          f"{creds.read_text().splitlines()[0]} (kept in {creds})",
                          highlight=False)


app.add_typer(admin.agreements_app, name="agreements")
app.add_typer(admin.parties_app, name="parties")
app.add_typer(admin.units_app, name="units")
app.add_typer(admin.officials_app, name="officials")
app.add_typer(admin.activities_app, name="activities")
app.add_typer(orders.app, name="orders")
app.add_typer(settle.app, name="settle")
app.add_typer(settle.claims_app, name="claims")
app.command("deadlines")(settle.deadlines)
app.add_typer(admin.rates_app, name="rates")
app.add_typer(books.app, name="books")
app.add_typer(admin.audit_app, name="audit")
app.add_typer(admin.db_app, name="db")
app.add_typer(serve.users_app, name="users")
app.command("serve")(serve.serve)

if __name__ == "__main__":  # pragma: no cover
    app()
