"""The `acsa` command: global options, `acsa init`, and the command groups."""

from __future__ import annotations

import inspect

import typer
from sqlalchemy.orm import Session

from acsa import config
from acsa.cli import (  # noqa: F401
    admin,
    audit_pack,
    books,
    bulk,
    docs,
    docs_forms,
    docs_reports,
    keys,
    orders,
    reconcile,
    serve,
    settle,
    sync,
)
from acsa.cli.common import STATE, JsonOpt, emit, out, run
from acsa.db import migrate
from acsa.db.engine import get_engine
from acsa.parties import service as parties
from acsa.sync import node

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
    # Map every table before a command reaches the database. The command modules import
    # their services inside the commands, so a command may load a table (orders) without one
    # its foreign keys name (activities), and SQLAlchemy's first flush would then fail.
    # `acsa --help` does not get here and stays fast.
    import acsa.db.models  # noqa: F401


@app.command()
def init(demo: bool = typer.Option(False, "--demo", help="Load the demo story and show its "
                                   "order register and statement of balances."),
         party: str | None = typer.Option(None, "--party", help="Make this database the node "
                                          "of one party (PH, JP, US ...), which then signs and "
                                          "exchanges its events with its partners' nodes; set "
                                          "once (see `acsa keys`, `acsa sync`)."),
         as_json: bool = JsonOpt) -> None:
    """Create or upgrade the database, add the parties and load the agreements."""
    from acsa import demo as demo_data
    from acsa.agreements import service as agreements

    engine = get_engine(STATE.db)
    migrate.upgrade(engine)

    def go(s: Session) -> tuple[list[tuple[str, str]], bool]:
        parties.ensure_parties(s)
        loaded = agreements.load(s)
        node_party = node.set_party(s, party) if party else node.own_party(s)
        return loaded, demo_data.load(s) if demo else False, node_party
    loaded, demo_now, node_party = run(go, as_json=as_json)
    data: dict[str, object] = {
        "database": engine.url.render_as_string(), "home": str(config.home()),
        "party": node_party,
        "agreements": [{"code": c, "result": r} for c, r in loaded], "demo": demo,
        "demo_loaded_now": demo_now}
    if demo:
        data["orders"] = run(orders.register_data, as_json=as_json)
        data["balances"] = run(lambda s: books.balance_data(s, demo_data.TODAY.isoformat(), None,
                                                            "PHP"), as_json=as_json)
    if as_json:
        emit(data, True, lambda: None)
        return
    out.print(f"acsa database ready: {engine.url.render_as_string()}", highlight=False)
    if node_party:
        out.print(f"  this is the node of {node_party}")
    for c, r in loaded:
        out.print(f"  agreement {c}: {r}")
    if not demo:
        return
    out.print("\n[bold]Demo loaded.[/]" if demo_now else
              "\n[bold]The demo was already loaded[/] (the database has orders).")
    out.print("The order register and the statement of balances:\n")
    orders.render_register(data["orders"])  # type: ignore[arg-type]
    books.render_balance(data["balances"])  # type: ignore[arg-type]
    creds = config.home() / demo_data.CREDENTIALS_FILE
    out.print("\nTry: acsa orders show PHJP-JP-2026-0001   acsa books ageing --as-of "
              f"{demo_data.TODAY}   acsa audit verify   acsa --help")
    if creds.exists():
        out.print("Sign in (acsa serve, then http://127.0.0.1:8000/ in a browser, or the API at "
                  "/docs) as sato "
                  "(JP requesting), cruz (PH approving), santos (PH finance), abe (JP finance), "
                  f"fujita (JP auditor), ph-admin ... — {creds.read_text().splitlines()[0]} "
                  f"(kept in {creds})", highlight=False)


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
app.add_typer(docs.app, name="docs")
app.command("verify-doc")(docs_forms.verify_doc)
app.add_typer(bulk.import_app, name="import")
app.add_typer(bulk.export_app, name="export")
app.add_typer(serve.users_app, name="users")
app.command("serve")(serve.serve)
app.add_typer(keys.app, name="keys")
app.add_typer(sync.app, name="sync")
if hasattr(reconcile, "reconcile"):
    app.command("reconcile")(reconcile.reconcile)

def _reflow_help(typer_app: typer.Typer) -> None:
    """Join the wrapped lines of each command's docstring into paragraphs, so `--help`
    wraps the text to the terminal instead of keeping the source's line breaks."""
    for info in typer_app.registered_commands:
        doc = info.callback.__doc__ if info.callback else None
        if doc and not info.help:
            paragraphs = inspect.cleandoc(doc).split("\n\n")
            info.help = "\n\n".join(" ".join(p.split()) for p in paragraphs)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _reflow_help(group.typer_instance)


_reflow_help(app)

if __name__ == "__main__":  # pragma: no cover
    app()
