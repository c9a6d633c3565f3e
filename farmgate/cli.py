"""The ``farmgate`` command."""

from __future__ import annotations

import getpass
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

import typer
from sqlalchemy.orm import Session
from sqlmodel import col

from farmgate.config import settings
from farmgate.verifier import commands as verifier_commands

app = typer.Typer(help="farmgate 乡村好物：农产品电商与溯源平台", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations", no_args_is_help=True)
users_app = typer.Typer(help="Accounts", no_args_is_help=True)
app.add_typer(db_app, name="db")
jobs_app = typer.Typer(help="Background jobs", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(jobs_app, name="jobs")
search_app = typer.Typer(help="Product search", no_args_is_help=True)
app.add_typer(search_app, name="search")
reports_app = typer.Typer(help="The township's sales figures", no_args_is_help=True)
app.add_typer(reports_app, name="reports")
township_app = typer.Typer(help="The township and its villages", no_args_is_help=True)
app.add_typer(township_app, name="township")
payments_app = typer.Typer(help="Payments", no_args_is_help=True)
app.add_typer(payments_app, name="payments")
translog_app = typer.Typer(help="The transparency log of trace events", no_args_is_help=True)
media_app = typer.Typer(help="Uploaded photos and files", no_args_is_help=True)
app.add_typer(media_app, name="media")
app.add_typer(translog_app, name="translog")
app.command("verify")(verifier_commands.verify)
app.add_typer(verifier_commands.witness_app, name="witness")


@app.callback()
def _wiring() -> None:
    # Every command runs with the domains wired (listeners, jobs): see farmgate/bootstrap.py.
    # (No docstring: it would replace the app's help text.)
    from farmgate.bootstrap import install

    install()


def _fail(message: str) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _warn_about_the_secret_key() -> None:
    warning = settings.secret_key_warning()
    if warning:
        typer.secho(warning, fg=typer.colors.RED, bold=True, err=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations to FARMGATE_DATABASE_URL."""
    from farmgate.db import upgrade_database

    upgrade_database(revision=revision)
    from sqlalchemy import make_url

    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    typer.echo(f"Database at revision {revision}: {shown}")


@db_app.command("check")
def db_check() -> None:
    """Exit non-zero if the database is not at the code's migration head."""
    from farmgate.db import DatabaseNotMigrated, check_migrations, get_engine

    try:
        check_migrations(get_engine())
    except DatabaseNotMigrated as exc:
        _fail(str(exc))
    typer.echo("Database is up to date.")


@db_app.command("revision")
def db_revision(message: str = typer.Option(..., "-m", help="What the migration does")) -> None:
    """Autogenerate a migration (date-prefixed file) from the models (developers)."""
    from alembic import command

    from farmgate.db import alembic_config

    cfg = alembic_config()
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    command.revision(cfg, message=message, autogenerate=True)


@users_app.command("create-admin")
def create_admin(
    phone: str = typer.Option(..., prompt="手机号"),
    name: str = typer.Option("乡镇管理员"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin"
    ),
) -> None:
    """Create a township administrator account.

    The password comes from FARMGATE_ADMIN_PASSWORD, from stdin (--password-stdin) or a
    prompt that does not echo; never from the command line, where shell history keeps it.
    """
    from farmgate.accounts import service as accounts
    from farmgate.db import session_scope
    from farmgate.errors import FarmgateError
    from farmgate.models import Role
    from farmgate.validators import normalize_mobile

    password = os.environ.get("FARMGATE_ADMIN_PASSWORD", "")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not password:
        password = getpass.getpass("密码: ")
        if getpass.getpass("再输入一次密码: ") != password:
            _fail("两次输入的密码不一致")
    if not password:
        _fail("没有提供密码")
    try:
        with session_scope() as session:
            accounts.create_account(
                session,
                phone=normalize_mobile(phone),
                password=password,
                display_name=name,
                role=Role.ADMIN,
            )
    except (FarmgateError, ValueError) as exc:
        _fail(getattr(exc, "message", str(exc)))
    typer.echo(f"Admin {phone} created.")


@township_app.command("init")
def township_init(
    source: Path | None = typer.Argument(
        None, exists=True, dir_okay=False, help="township.json or .csv (default: built-in)"
    ),
) -> None:
    """Create the township and its villages (no accounts, no sample data); safe to re-run."""
    from farmgate import places
    from farmgate.db import session_scope
    from farmgate.errors import FarmgateError

    try:
        data = places.read_township_file(source) if source else places.builtin_township()
        with session_scope() as session:
            township, added = places.init_township(session, data)
            code, label = township.code, f"{township.name}（{township.code}）"
    except FarmgateError as exc:
        _fail(exc.message)
    typer.echo(f"Township {label}: {added} village(s) added.")
    if code != settings.township:
        typer.secho(
            f"Set FARMGATE_TOWNSHIP={code} so the site serves this township.",
            fg=typer.colors.YELLOW,
        )


@app.command("import")
def import_products(
    csv_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="products.csv"),
    staff_phone: str = typer.Option(
        ..., "--as", help="Phone of the cooperative staff account importing"
    ),
) -> None:
    """Bulk-load a cooperative's products from CSV; all rows or none."""
    from farmgate.accounts import service as accounts
    from farmgate.catalog import importer
    from farmgate.db import session_scope
    from farmgate.errors import FarmgateError
    from farmgate.validators import normalize_mobile

    try:
        phone = normalize_mobile(staff_phone)
    except ValueError as exc:
        _fail(str(exc))
    try:
        with session_scope() as session:
            staff = accounts.get_by_phone(session, phone)
            if staff is None:
                _fail(f"No account with phone {staff_phone}")
            result = importer.import_products(session, staff, csv_file.read_bytes())
            created = len(result.products), result.skus
    except FarmgateError as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        for where, message in exc.fields.items():
            typer.secho(f"  {where}: {message}", err=True)
        raise typer.Exit(1) from None
    # Only once the transaction has committed.
    typer.echo(f"Imported {created[0]} products, {created[1]} SKUs (as drafts).")


@search_app.command("reindex")
def search_reindex() -> None:
    """Rebuild the search index from the database (published products only)."""
    from farmgate.db import session_scope
    from farmgate.search import service as search

    started = time.perf_counter()
    with session_scope() as session:
        count = search.reindex(session)
    where = f"Meilisearch at {settings.meili_url}" if settings.meili_url else "the embedded index"
    typer.echo(f"Indexed {count} products into {where} in {time.perf_counter() - started:.1f}s.")


@media_app.command("sweep")
def media_sweep(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be removed"),
    grace_hours: float = typer.Option(
        24, min=1, help="Keep files younger than this (uploads still being committed)"
    ),
    force: bool = typer.Option(False, help="Remove even if that is most of the old files"),
) -> None:
    """Remove media files that no row names (the daily job does the same)."""
    from datetime import timedelta

    from farmgate.db import session_scope
    from farmgate.media import sweep

    with session_scope() as session:
        report = sweep.sweep(
            session, grace=timedelta(hours=grace_hours), dry_run=dry_run, force=force
        )
    if dry_run or report.refused:
        for key in report.unnamed:
            typer.echo(f"  {key}")
    typer.echo(
        f"{report.files} files: {report.named} named by a row, {report.young} newer than "
        f"{grace_hours:g} h, {len(report.unnamed)} named by nothing "
        f"({report.unnamed_bytes / 1024 / 1024:.1f} MB); removed {report.removed}."
    )
    if report.refused:
        _fail(
            "Refused: most of the old files are named by no row. Is FARMGATE_DATABASE_URL the "
            "database this media directory belongs to? --force removes them anyway."
        )


@reports_app.command("rebuild")
def reports_rebuild(
    since: str = typer.Option(..., help="First day to recompute, YYYY-MM-DD (Asia/Shanghai)"),
    until: str = typer.Option("", help="Last day (default: today)"),
) -> None:
    """Recompute the daily figures behind the dashboards (after a restore or an import)."""
    from datetime import date

    from farmgate.db import session_scope
    from farmgate.reports import summary
    from farmgate.timeutil import local_today

    try:
        first = date.fromisoformat(since)
        last = date.fromisoformat(until) if until else local_today()
    except ValueError as exc:
        _fail(f"Dates are YYYY-MM-DD: {exc}")
    if last < first:
        _fail("--until is before --since")
    started = time.perf_counter()
    with session_scope() as session:
        rows = summary.rebuild(session, first, last, commit_every=10)
    days = (last - first).days + 1
    typer.echo(f"Recomputed {days} days ({rows} rows) in {time.perf_counter() - started:.1f}s.")


@payments_app.command("reconcile")
def payments_reconcile(
    day: str = typer.Option("", "--date", help="Bill day, YYYY-MM-DD (default: yesterday)"),
) -> None:
    """Check WeChat Pay's trade bill for a day against our payments and refunds; each
    difference becomes a township alert (once, however often a day is checked)."""
    from datetime import date, timedelta

    from farmgate.db import session_scope
    from farmgate.payments import reconciliation
    from farmgate.payments.provider import PaymentError
    from farmgate.payments.providers import PaymentFailed
    from farmgate.timeutil import local_today

    try:
        when = date.fromisoformat(day) if day else local_today() - timedelta(days=1)
    except ValueError as exc:
        _fail(f"Dates are YYYY-MM-DD: {exc}")
    try:
        with session_scope() as session:
            result = reconciliation.reconcile_day(session, when)
    except PaymentFailed as exc:
        _fail(exc.message)
    except PaymentError as exc:
        _fail(f"Could not fetch the trade bill for {when}: {exc}")
    typer.echo(
        f"{when}: {result.lines} bill lines via {result.provider}, "
        f"{len(result.differences)} differences, {result.new_alerts} new alerts."
    )
    for diff in result.differences:
        typer.echo(f"  {diff.message(when)}")


@app.command("worker")
def worker(
    queue: str = typer.Option("all", help="quick, slow or all"),
    burst: bool = typer.Option(False, help="Exit when the queues are empty"),
) -> None:
    """Run arq workers (needs FARMGATE_REDIS_URL); the quick one also dispatches and sweeps."""
    import asyncio

    from farmgate.workers.arq_worker import run_workers

    if not settings.redis_url:
        _fail("FARMGATE_REDIS_URL is not set: without Redis the web process runs jobs itself.")
    _warn_about_the_secret_key()
    queues = ["quick", "slow"] if queue == "all" else [queue]
    if any(q not in ("quick", "slow") for q in queues):
        _fail("--queue must be quick, slow or all")
    from farmgate.ops import logs

    logs.configure(json_lines=settings.log_json)
    asyncio.run(run_workers(queues, burst=burst))


@jobs_app.command("status")
def jobs_status() -> None:
    """Queued, running, failed and dead-lettered counts, and the arq workers' health."""
    import asyncio

    from farmgate.db import session_scope
    from farmgate.jobs import admin

    with session_scope() as session:
        for name, count in admin.counts(session).items():
            typer.echo(f"{name:>8}: {count}")
    if not settings.redis_url:
        typer.echo("  worker: embedded (no FARMGATE_REDIS_URL)")
        return
    from farmgate.workers.health import worker_health

    for queue, health in asyncio.run(worker_health()).items():
        typer.echo(f"  {queue}: {health or 'no health check recorded (is a worker running?)'}")


@jobs_app.command("dead")
def jobs_dead() -> None:
    """List dead-lettered jobs waiting for a re-drive."""
    from farmgate.db import session_scope
    from farmgate.jobs import admin

    with session_scope() as session:
        rows = admin.dead_letters(session)
        for d in rows:
            typer.echo(
                f"{d.id:>6}  {d.job}  tries={d.attempts}  "
                f"{d.failed_at:%Y-%m-%d %H:%M}  {d.error[:120]}"
            )
        if not rows:
            typer.echo("No dead letters.")


@jobs_app.command("retry")
def jobs_retry(
    dead_id: int | None = typer.Argument(None, help="Dead letter id (see `farmgate jobs dead`)"),
    all_: bool = typer.Option(False, "--all", help="Re-drive every dead letter"),
) -> None:
    """Re-drive dead-lettered jobs after their cause is fixed."""
    from farmgate.db import session_scope
    from farmgate.errors import FarmgateError
    from farmgate.jobs import admin

    if (dead_id is None) == (not all_):
        _fail("Give a dead letter ID or --all")
    try:
        with session_scope() as session:
            rows = (
                admin.redrive_all(session) if dead_id is None else [admin.redrive(session, dead_id)]
            )
            typer.echo(
                f"Re-driven {len(rows)} job(s): outbox " + ", ".join(str(r.id) for r in rows)
            )
    except FarmgateError as exc:
        _fail(exc.message)


def web_workers_for_cores() -> int:
    """One web process per CPU core this process may run on (a container's CPU set included):
    each process runs Python on one core at a time, and `bench/hotreads.py` shows a process
    CPU-bound under load, so more would only queue, fewer would leave cores idle."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    workers: int = typer.Option(
        0, min=0, help="web processes; 0: one per CPU core this process may use"
    ),
) -> None:
    """Serve the app with uvicorn (the database must be migrated)."""
    import uvicorn

    from farmgate.db import DatabaseNotMigrated, check_migrations, get_engine

    try:
        check_migrations(get_engine())
    except DatabaseNotMigrated as exc:
        _fail(str(exc))
    _warn_about_the_secret_key()
    typer.echo(
        f"farmgate serving at http://{host}:{port}/  (API docs: http://{host}:{port}/api/docs)"
    )
    # Our middleware logs each request (with its id); uvicorn's own access log would repeat it.
    uvicorn.run(
        "farmgate.asgi:app",
        host=host,
        port=port,
        workers=workers or web_workers_for_cores(),
        log_level="info",
        access_log=False,
        log_config=None,  # farmgate.asgi configures logging in every worker process
    )


# A phone's WeChat browser, as the demo tells people to pretend to be.
WECHAT_DEMO_UA = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/116.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) NetType/WIFI"
)


@app.command("demo")
def demo(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    no_serve: bool = typer.Option(False, "--no-serve", help="Migrate and seed only"),
) -> None:
    """Create, migrate and seed a demo database (SAMPLE data for 谭家场乡), then serve it."""
    if settings.env == "production":
        # The demo seeds accounts with a published password and turns the simulators on.
        _fail(
            "farmgate demo refuses to run with FARMGATE_ENV=production: it creates accounts "
            "with the published demo password and switches on the payment simulator. "
            "Set up production with `farmgate township init` and "
            "`farmgate users create-admin` (see infra/README.md)."
        )
    from farmgate.db import session_scope, upgrade_database
    from farmgate.demo.seed import DEMO_PASSWORD, seed

    upgrade_database()
    with session_scope() as session:
        created = seed(session)
    if created:
        from farmgate.search import service as search

        with session_scope() as session:
            search.reindex(session)
        typer.echo("Demo accounts (sample data), password: " + DEMO_PASSWORD)
        for role, phone in created.items():
            typer.echo(f"  {phone}  {role}")
    else:
        typer.echo("Demo data already present.")
    with session_scope() as session:
        _print_trace_pages(session, f"http://{host}:{port}")
    if no_serve:
        return
    settings.public_base_url = f"http://{host}:{port}"
    if not settings.wechat_api_key:
        # No merchant account configured: pay through the bundled WeChat Pay SIMULATOR.
        from farmgate.payments.simulator import SimulatorServer

        # Under the official account's appid when one is configured (JSAPI needs one appid).
        sim = SimulatorServer(appid=settings.wechat_app_id or "wx_simulated_app").start()
        settings.wechat_appid, settings.wechat_mch_id = sim.state.appid, sim.state.mch_id
        settings.wechat_api_key, settings.wechat_api_base = sim.state.api_key, sim.url
        settings.simulator = True
        typer.echo(f"WeChat Pay SIMULATOR (no real payments) at {sim.url}")
    if not settings.wechat_app_id:
        # No official account: OAuth, JS-SDK and template messages from the bundled SIMULATOR,
        # under the Pay appid (JSAPI pays with the openid of that appid).
        from farmgate.wechat.simulator import MpSimulatorServer

        mp = MpSimulatorServer(appid=settings.wechat_appid or "wx_simulated_app").start()
        for name, value in mp.settings().items():
            setattr(settings, name, value)
        typer.echo(
            f"WeChat official-account SIMULATOR at {mp.url}. To open a page as if in WeChat: "
            f"chromium --user-agent='{WECHAT_DEMO_UA}' http://{host}:{port}/ "
            "(or set that user agent in the browser's device emulation)"
        )
    if not settings.kuaidi100_key:
        # No carrier account: waybills and tracking come from the bundled courier SIMULATOR.
        from farmgate.logistics.simulator import CourierSimulatorServer

        courier = CourierSimulatorServer().start()
        config = courier.config()
        settings.kuaidi100_customer, settings.kuaidi100_key = config["customer"], config["key"]
        settings.kuaidi100_secret = config["secret"]
        settings.kuaidi100_base = settings.kuaidi100_label_base = courier.url
        settings.kuaidi100_waybill_lookup = True  # the simulator answers the lookup
        typer.echo(
            f"Courier SIMULATOR (no real parcels) at {courier.url}; "
            f"move a parcel on: curl -X POST {courier.url}/_simulator/advance/WAYBILL"
        )
    if not settings.sms_secret_id:
        # No SMS account: verification codes go to the bundled SMS SIMULATOR's inbox page.
        from farmgate.sms.simulator import SmsSimulatorServer

        sms = SmsSimulatorServer().start()
        for name, value in sms.settings().items():
            setattr(settings, name, value)
        typer.echo(f"SMS SIMULATOR (no real messages): read the verification codes at {sms.url}/")
    serve(host=host, port=port, workers=1)


def _print_trace_pages(session: Session, base: str) -> None:
    from sqlalchemy import select

    from farmgate.models import Batch, Product
    from farmgate.trace import urls

    rows = session.execute(
        select(Batch, col(Product.name))
        .join(Product, col(Product.id) == col(Batch.product_id))
        .limit(10)
    ).all()
    if rows:
        typer.echo("Trace pages (what the QR codes on the sample packages open):")
    for batch, name in rows:
        typer.echo(f"  {base}{urls.trace_path(batch)}  {name} {batch.lot_code}")
        if batch.serial_count:
            first = urls.serials(batch, 1, 1)[0]
            typer.echo(f"  {base}{urls.trace_path(batch, first)}  单品码 #1")


@translog_app.command("key")
def translog_key() -> None:
    """Print the log's public key (give it to verifiers and witnesses)."""
    from farmgate.translog import keys

    typer.echo(keys.public_key().vkey)


@translog_app.command("publish")
def translog_publish() -> None:
    """Log every trace event not logged yet and publish a signed head (the job does it too)."""
    from farmgate.db import session_scope
    from farmgate.translog import log

    with session_scope() as session:
        added = log.integrate_all(session)
        log.publish(session)
        head = log.head(session)
    typer.echo(f"logged {added} event(s); log size {head.size}")
    typer.echo(head.note, nl=False)


def main() -> None:  # pragma: no cover
    sys.exit(app())


# --- EPCIS partners ------------------------------------------------------------------------

partners_app = typer.Typer(help="EPCIS partners (processors, the post office) and their API keys")
app.add_typer(partners_app, name="partners")


@partners_app.command("add")
def partners_add(
    name: str = typer.Argument(..., help="The partner's name, e.g. 辰溪县邮政"),
    kind: str = typer.Option("processor", help="processor / post_office / other"),
) -> None:
    """Create a partner and print its API key (shown only this once; only its hash is kept)."""
    from farmgate.db import session_scope
    from farmgate.errors import FarmgateError
    from farmgate.trace import capture

    try:
        with session_scope() as session:
            partner, key = capture.create_partner(session, name, kind)
            partner_id = partner.id
    except FarmgateError as exc:
        _fail(exc.message)
    typer.echo(f"Partner {partner_id} ({name}, {kind}) created. Its API key:")
    typer.echo(key)
    typer.echo(
        "Send it as 'Authorization: Bearer <key>' to POST /epcis/capture and GET /epcis/events."
    )


@partners_app.command("list")
def partners_list() -> None:
    """The partners, their key prefixes and when each last sent something."""
    from sqlalchemy import select

    from farmgate.db import session_scope
    from farmgate.models import EpcisPartner

    with session_scope() as session:
        for p in session.scalars(select(EpcisPartner).order_by(col(EpcisPartner.id))):
            state = "active" if p.active else "revoked"
            typer.echo(
                f"{p.id}\t{p.name}\t{p.kind}\t{p.key_prefix}…\t{state}\t{p.last_used_at or '-'}"
            )


@partners_app.command("revoke")
def partners_revoke(partner_id: int) -> None:
    """Revoke a partner's key: its requests get 401 from now on (its events stay)."""
    from farmgate.db import session_scope
    from farmgate.errors import FarmgateError
    from farmgate.trace import capture

    try:
        with session_scope() as session:
            capture.revoke_partner(session, partner_id)
    except FarmgateError as exc:
        _fail(exc.message)
    typer.echo(f"Partner {partner_id} revoked.")


if __name__ == "__main__":  # python -m farmgate.cli
    app()
