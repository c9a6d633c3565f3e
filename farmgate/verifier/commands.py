"""The verifier's commands: ``farmgate verify`` and ``farmgate witness pull|check`` (also
``python -m farmgate.verifier ...``, which needs no farmgate settings or database)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from farmgate.verifier import note, witness
from farmgate.verifier.client import DEFAULT_STATE, verify_lot
from farmgate.verifier.client import load_key as _load_key


def load_key(value: str) -> note.PublicKey:
    try:
        return _load_key(value)
    except note.NoteError as exc:
        typer.echo(f"bad --key: {exc}", err=True)
        raise typer.Exit(2) from exc


KEY_HELP = "The log's public key (name+hash+base64, from /api/v1/translog/key), or a file with it"


def verify(
    url: str = typer.Argument(..., help="The site, e.g. https://shop.example.org"),
    lot: str = typer.Option(..., "--lot", help="The lot code (GS1 AI 10)"),
    key: str = typer.Option(..., "--key", envvar="FARMGATE_VERIFY_KEY", help=KEY_HELP),
    gtin: str | None = typer.Option(None, "--gtin", help="When two products share the code"),
    state: Path = typer.Option(DEFAULT_STATE, "--state", help="Where the heads seen are kept"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Check a lot's trace against the site's signed transparency log."""
    report = verify_lot(url, lot, load_key(key), gtin=gtin, state_path=state)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        verdict = "OK" if report.ok else "PROBLEMS"
        typer.echo(f"{verdict}: lot {lot}, {report.events} event(s), log size {report.size}")
        for line in report.problems:
            typer.echo(f"  problem: {line}")
        for line in report.notes:
            typer.echo(f"  note: {line}")
    raise typer.Exit(0 if report.ok else 1)


witness_app = typer.Typer(help="Keep the log's signed heads elsewhere and check them later")


def _print(report: witness.WitnessReport) -> None:
    typer.echo(
        f"{'OK' if report.ok else 'PROBLEMS'}: {report.stored} head(s) stored, "
        f"site's log size {report.latest}"
    )
    for line in report.problems:
        typer.echo(f"  problem: {line}")
    raise typer.Exit(0 if report.ok else 1)


@witness_app.command("pull")
def witness_pull(
    url: str = typer.Argument(..., help="The site"),
    store: Path = typer.Option(..., "--store", help="The witness's folder of heads"),
    key: str = typer.Option(..., "--key", envvar="FARMGATE_VERIFY_KEY", help=KEY_HELP),
) -> None:
    """Store the site's latest signed head if it extends the heads already stored."""
    _print(witness.pull(url, store, load_key(key)))


@witness_app.command("check")
def witness_check(
    url: str = typer.Argument(..., help="The site"),
    store: Path = typer.Option(..., "--store", help="The witness's folder of heads"),
    key: str = typer.Option(..., "--key", envvar="FARMGATE_VERIFY_KEY", help=KEY_HELP),
) -> None:
    """Check the site still stands by every stored head (no fork, no rewrite)."""
    _print(witness.check(url, store, load_key(key)))


app = typer.Typer(help="Verify a farmgate site's transparency log", no_args_is_help=True)
app.command("verify")(verify)
app.add_typer(witness_app, name="witness")
