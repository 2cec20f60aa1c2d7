"""The ``islandbridge`` command line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

from islandbridge.commands.options import ConfigOpt, DataDir, installation


class _OneScreenErrors(typer.Typer):
    """A user's error (configuration, secrets, keys, a refused step, a missing file) is
    one ``error:`` line, exit 2, never a traceback; ``--verbose`` shows the traceback. Our
    own messages are shown in full; anything else by its type only (third-party text may
    quote a cell)."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            import sys

            from islandbridge.errors import describe_failure, is_permanent

            if logging.getLogger().isEnabledFor(logging.INFO):
                raise
            if is_permanent(exc):
                text = str(exc)
            elif isinstance(exc, OSError) and exc.filename:
                text = f"{exc.strerror or type(exc).__name__}: {exc.filename}"
            else:
                text = describe_failure(exc) + " (run with --verbose for the details)"
            print(f"error: {text}", file=sys.stderr)  # noqa: T201 - the CLI's own output
            sys.exit(2)


app = _OneScreenErrors(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    from anonymize.log_masking import install_log_masking

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_log_masking()  # a second line of defence: ID- and mobile-shaped runs masked


@app.command()
def generate(
    members: Annotated[int, typer.Option(help="number of party members")] = 5000,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same bytes)")] = 20260630,
    out: Annotated[Path | None, typer.Option(help="output folder")] = None,
    pg_url: Annotated[str | None, typer.Option(help="also load org_dept into PostgreSQL")] = None,
    mysql_url: Annotated[
        str | None, typer.Option(help="also load student affairs into MariaDB")
    ] = None,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Generate the synthetic university (seven departmental systems + ground truth)."""
    from islandbridge.progress import interactive
    from islandbridge.synth import generate_university

    target = out or data_dir / "university"
    summary = generate_university(
        target,
        members=members,
        seed=seed,
        pg_url=pg_url,
        mysql_url=mysql_url,
        progress=interactive(),
    )
    typer.echo(f"generated {members} members (seed {seed}) in {target}")
    typer.echo(str(summary))


def _progress(line: str) -> None:
    """A progress line on stderr (when not on a terminal: line by line, no spinner)."""
    typer.echo(line, err=True)


def _finish(summary: dict) -> None:
    """Print a run's summary; exit 2 when the run was degraded (the summary says why)."""
    from islandbridge.summary import print_summary

    print_summary(summary)
    if summary.get("degraded"):
        raise typer.Exit(2)


@app.command()
def demo(
    members: Annotated[int, typer.Option(help="number of party members")] = 5000,
    seed: Annotated[int, typer.Option(help="random seed")] = 20260630,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """The demo university end to end through Airflow, with a summary."""
    from islandbridge.checks import CheckFailed
    from islandbridge.demo import DemoError, run_demo

    try:
        summary = run_demo(
            members=members, seed=seed, data_dir=data_dir, config=config, on_progress=_progress
        )
    except (DemoError, CheckFailed) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _finish(summary)


@app.command()
def run(
    sources: Annotated[
        list[str] | None,
        typer.Option("--source", help="extract only these; the others are carried over"),
    ] = None,
    allow_shrink: Annotated[
        bool,
        typer.Option(
            "--allow-shrink",
            help="publish even if a table shrinks beyond publish.max_shrink or a source is "
            "gone (recorded in the manifest)",
        ),
    ] = False,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Run campus_integration through Airflow on the installation the configuration names
    (the checks of `islandbridge check` first: nothing is written if they fail).

    Exit status: 0 published with every source fresh or carried; 2 degraded (a source
    failed, or the publication was refused — the summary says why); 1 the run failed.
    """
    from datetime import UTC, datetime

    from islandbridge.checks import CheckFailed
    from islandbridge.demo import DemoError, run_pipeline

    run_id = "manual_" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    try:
        summary = run_pipeline(
            data_dir.resolve(),
            config,
            run_id=run_id,
            sources=sources,
            allow_shrink=allow_shrink,
            on_progress=_progress,
        )
    except (DemoError, CheckFailed) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _finish(summary)


@app.command()
def verify(
    adopt_anchor: Annotated[
        bool,
        typer.Option(
            "--adopt-anchor",
            help="anchor an intact ledger that has no (valid) anchor yet; never a rolled-back one",
        ),
    ] = False,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Check the publication: ledger chain and its anchor, signatures, every file's checksum,
    and the DuckDB file by content."""
    from anonymize.anchor import AnchorError
    from integrate import verify_publication
    from integrate.ledger import LedgerError, ledger_lock, sync_anchor
    from islandbridge.anchors import AnchorConfigError, publication_anchor
    from islandbridge.secrets import SecretError, load_signing_key

    ctx = installation(data_dir, config)
    key = load_signing_key(ctx)
    root = ctx.publish_root
    try:
        anchor = publication_anchor(ctx)
    except (AnchorConfigError, AnchorError, SecretError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        if adopt_anchor:
            with ledger_lock(root):
                before = sync_anchor(root, anchor=anchor, signing_key=key, adopt=True)
            typer.echo(f"anchor adopted (was: {before.state.value})")
        report = verify_publication(root, key.public_key(), anchor=anchor)
    except (LedgerError, AnchorError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        anchor.close()
    for problem in report.problems:
        typer.echo(f"ALTERED: {problem}", err=True)
    for note in report.pending:
        typer.echo(f"PENDING: {note}", err=True)
    typer.echo(
        f"{'ok' if report.ok else 'FAILED'}: {len(report.versions_checked)} versions, "
        f"{report.ledger_entries} ledger entries, {report.files_checked} files checked, "
        f"anchor {report.anchor}"
    )
    if not report.ok:
        raise typer.Exit(1)


def _register() -> None:
    from islandbridge.commands import (
        airflow,
        departments,
        keys,
        portal,
        reidentify,
        remind,
        retention,
        scan_leaks,
        setup,
    )

    keys.app.command("new-department")(departments.new_department)
    keys.app.command("trust")(departments.trust_command)
    keys.app.command("untrust")(departments.untrust_command)
    keys.app.command("trusted")(departments.trusted_command)
    app.add_typer(keys.app, name="keys")
    app.command("sign")(departments.sign_command)
    app.command("reidentify")(reidentify.reidentify)
    app.command("scan-leaks")(scan_leaks.scan_leaks_command)
    app.command("verify-retention")(retention.verify_retention_command)
    app.command("init")(setup.init_command)
    app.command("check")(setup.check_command)
    app.command("airflow")(airflow.airflow_command)
    app.command("remind")(remind.remind_command)
    app.add_typer(portal.app, name="portal")


_register()

if __name__ == "__main__":
    app()
