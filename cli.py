"""The `aftersales` command: run the pieces one by one, or all of them for development."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from core.config import Settings
from core.logs import configure_logging
from core.timezones import use_packaged_zone_rules
from core.tracing import start_tracing
from models.policy import PolicyError, load_policy

app = typer.Typer(
    help="aftersales: after-sales repair tickets as durable workflows.", no_args_is_help=True
)
policy_app = typer.Typer(help="Policy files (calendars, zones, rates).", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
notify_app = typer.Typer(help="Outgoing notifications (email, SMS).", no_args_is_help=True)
app.add_typer(notify_app, name="notify")


def _settings() -> Settings:
    use_packaged_zone_rules()
    try:
        settings = Settings()
    except ValidationError as invalid:
        # One line per bad setting, naming it and the problem, never its value.
        for error in invalid.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            typer.echo(f"error: bad setting {where}: {message}", err=True)
        raise typer.Exit(2) from None
    configure_logging(log_format=settings.log_format)
    try:
        load_policy(settings.policy_file)
    except PolicyError as bad:
        typer.echo(f"error: bad policy: {bad}", err=True)
        raise typer.Exit(2) from None
    return settings


@app.command()
def migrate() -> None:
    """Apply database migrations and create the admin user if asked to, then exit."""
    from core.db import make_engine
    from core.db import migrate as apply_migrations
    from store.users import bootstrap_admin

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    apply_migrations(engine)
    if bootstrap_admin(engine, settings.admin_password):
        typer.echo("created user 'admin'")
    typer.echo("database is up to date")


@app.command()
def api() -> None:
    """Run the HTTP API (one replica)."""
    from api.app import create_app, server
    from core.db import make_engine
    from core.db import migrate as apply_migrations

    settings = _settings()
    start_tracing(settings, "aftersales-api")
    apply_migrations(make_engine(settings.resolved_database_url))
    app = create_app(settings)
    server(app, settings.api_host, settings.api_port, settings.log_format).run()


@app.command()
def worker() -> None:
    """Run a Temporal worker for the ticket workflows and their activities."""
    from worker import run_worker

    settings = _settings()
    start_tracing(settings, "aftersales-worker")
    try:
        asyncio.run(run_worker(settings))
    except KeyboardInterrupt:
        pass
    # The worker has shut down gracefully; skip interpreter finalization, where the SDK's
    # native runtime threads can abort the process ("PyGILState_Release") on the way out.
    logging.shutdown()
    sys.stdout.flush()
    os._exit(0)


@app.command("rebuild-read-model")
def rebuild_read_model() -> None:
    """Rewrite the read model (tickets, surveys, complaints, escalations) from the workflows'
    own state (after a loss)."""
    from core.db import make_engine
    from core.db import migrate as apply_migrations
    from jobs.rebuild import rebuild_read_model as rebuild
    from worker import connect

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    apply_migrations(engine)

    async def run() -> dict[str, int]:
        return await rebuild(await connect(settings), engine, settings.task_queue)

    counts = asyncio.run(run())
    typer.echo("rebuilt " + ", ".join(f"{n} {kind.lower()}s" for kind, n in counts.items()))


@app.command()
def dev() -> None:
    """Run everything in the foreground: Temporal (unless AFTERSALES_TEMPORAL_ADDRESS is set),
    the worker and the API. Ctrl-C or SIGTERM stops all of it."""
    from stack import run_stack

    raise typer.Exit(run_stack(_settings()))


@policy_app.command("check")
def policy_check(
    file: Annotated[Path, typer.Argument(help="The policy file to validate.")],
) -> None:
    """Validate a policy file without starting anything."""
    try:
        policy = load_policy(file)
    except PolicyError as bad:
        typer.echo(f"error: {bad}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{file}: ok ({len(policy.calendars)} calendars, {len(policy.zones)} zones)")


@policy_app.command("simulate")
def policy_simulate(
    file: Annotated[Path, typer.Argument(help="The candidate policy file.")],
    first: Annotated[str, typer.Option("--from", help="The period's first day, YYYY-MM-DD.")],
    last: Annotated[str, typer.Option("--to", help="Its last day, YYYY-MM-DD (included).")],
    branch: Annotated[str | None, typer.Option(help="Only this branch's tickets.")] = None,
) -> None:
    """What the candidate policy would have made of the period's real tickets (deadlines,
    compliance, escalations) beside what happened. Changes nothing."""
    from datetime import UTC, date, datetime

    from sqlmodel import Session

    from core.db import make_engine
    from models.refusals import Refused
    from models.what_if import compare
    from models.worktime import days_bounds
    from store.what_if import recorded

    settings = _settings()
    try:
        candidate = load_policy(file)
        period = date.fromisoformat(first), date.fromisoformat(last)
    except (PolicyError, ValueError) as bad:
        typer.echo(f"error: {bad}", err=True)
        raise typer.Exit(1) from None
    office = load_policy(settings.policy_file).office_timezone
    start, end = days_bounds(*period, office)
    with Session(make_engine(settings.resolved_database_url)) as db:
        try:
            comparison = compare(recorded(db, start, end, branch), candidate, datetime.now(UTC))
        except Refused as refused:
            typer.echo(f"error: {refused.message}", err=True)
            raise typer.Exit(1) from None
    rows = [("", "actual", "candidate")]
    for name in ("tickets", "arrival_met", "arrival_missed", "arrival_compliance"):
        rows.append((name, *(str(getattr(s, name)) for s in comparison.summaries())))
    for kind in comparison.actual.escalations:
        rows.append((kind, *(str(s.escalations[kind]) for s in comparison.summaries())))
    for row in rows:
        typer.echo(f"{row[0]:<22}{row[1]:>10}{row[2]:>12}")
    typer.echo(f"tickets treated differently: {len(comparison.changed)}")


@notify_app.command("test")
def notify_test(
    to: Annotated[str, typer.Option("--to", help="The address to send the test email to.")],
) -> None:
    """Send one test email with the configured SMTP settings (AFTERSALES_SMTP_*)."""
    import uuid

    from activities.notify import SmtpSender
    from models.messages import EMAIL, OutgoingMessage

    settings = _settings()
    if not settings.smtp_host:
        typer.echo("error: no mail server: set AFTERSALES_SMTP_HOST", err=True)
        raise typer.Exit(1)
    server = f"{settings.smtp_host}:{settings.smtp_port}"
    message = OutgoingMessage(
        key=f"test:{uuid.uuid4()}",
        channel=EMAIL,
        recipient=to,
        subject="aftersales: test message",
        body=f"This test message was sent by `aftersales notify test` through {server}.\n",
    )
    try:
        asyncio.run(SmtpSender(settings).send(message))
    except Exception as failed:
        reason = str(failed) or type(failed).__name__
        typer.echo(f"error: not sent to {to} via {server}: {reason}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"sent a test email to {to} via {server} (from {settings.smtp_from})")


if __name__ == "__main__":
    app()
