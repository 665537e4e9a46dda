"""The command line: ``commentary-bot`` (run), sources, fetch, latest, summarize, db."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from bot.durations import (
    MAX_SOURCE_INTERVAL,
    MIN_SOURCE_INTERVAL,
    check_source_interval,
    format_duration,
    parse_duration,
)
from bot.errors import ConfigError, StorageError
from bot.logs import setup_logging
from bot.types import ExtractedPiece, Piece, Source, Summary, SummaryLength, source_kind

if TYPE_CHECKING:
    from rich.console import Console

    from bot.config import Settings
    from bot.core import Core

T = TypeVar("T")


def _default_database() -> Path:
    """bot.config.default_database_path without importing pydantic for `--help`."""
    import platformdirs

    return Path(platformdirs.user_data_dir("commentary-bot")) / "commentary.db"


# rich_markup_mode=None: click's plain help. Typer's rich panels print every flag as
# `--console <bool>`, as if it took a value.
app = typer.Typer(
    help="commentary-bot: follows opinion writing, summarizes each new piece and posts it to "
    "Telegram and Discord chats. With no platform token set, `run` starts a terminal chat.\n\n"
    f"The database is {_default_database()} unless COMMENTARY_DATABASE names another "
    "file; settings come from the environment or a .env file (see .env.example).",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rendering it with rich cost most of `--help`
)
sources_app = typer.Typer(
    help="Manage the sources the bot polls.", no_args_is_help=True, rich_markup_mode=None
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(sources_app, name="sources")
app.add_typer(db_app, name="db")
# rich (tables, progress bars) loads in the commands that print them: `run` and `--help` do not.


class TableOrJson(str, Enum):
    table = "table"
    json = "json"


class TextOrJson(str, Enum):
    text = "text"
    json = "json"


class Length(str, Enum):
    short = "short"
    standard = "standard"
    long = "long"


class Kind(str, Enum):
    feed = "feed"
    page = "page"


def fail(message: str, code: int = 2) -> NoReturn:
    # Plain write: rich would wrap a long path across lines.
    sys.stderr.write(f"commentary-bot: {message}\n")
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        from bot.config import load_settings  # pydantic: not for `--help`

        settings = load_settings()
    except ConfigError as exc:
        fail(str(exc))
    setup_logging(settings.commentary_log_level, settings.secrets, settings.commentary_log_format)
    return settings


def sqlite_path(settings: Settings) -> Path:
    """The SQLite file of COMMENTARY_DATABASE; commands that need one say so for PostgreSQL."""
    location = settings.commentary_database
    if not isinstance(location, Path):
        fail("this command works on a SQLite database file, not on PostgreSQL")
    return location


def with_core(settings: Settings, use: Callable[[Core], Awaitable[T]]) -> T:
    """Run one operation of the core (the command line's only way in), errors as one line."""
    from bot.core import Core

    async def go() -> T:
        async with Core.open(settings) as core:
            return await use(core)

    return run_async(go())


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine, turning the errors a user can fix into one line and exit code 2."""
    try:
        return asyncio.run(coro)
    except (ConfigError, StorageError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def table_console() -> Console:
    """Rich assumes 80 columns when piped; tables of sources need more to stay readable."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[], None]]:
    """A bar on stderr for long work when it is a terminal; nothing at all when piped."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    err = Console(stderr=True)
    show = total > 1 and err.is_terminal
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        disable=not show,
        transient=True,  # the bar goes once done; the summary line stays
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


class Role(str, Enum):
    all = "all"
    ingest = "ingest"
    deliver = "deliver"
    chat = "chat"


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    console: bool = typer.Option(
        False, "--console", help="With no command: force the terminal chat."
    ),
) -> None:
    """Start the bot when no command is given."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run, console=console, role=Role.all)


@app.command(short_help="Start the bot (the terminal chat if no token is set).")
def run(
    console: bool = typer.Option(False, "--console", help="Force the terminal chat."),
    role: Role = typer.Option(
        "all",
        "--role",
        envvar="COMMENTARY_ROLE",
        help="What this process does, for several processes on one PostgreSQL database:"
        " all, ingest (poll sources), deliver (send; one sender per bot token, the others"
        " stand by) or chat (answer commands).",
    ),
) -> None:
    """Start: every platform whose token is set; the terminal chat if none (--console forces it).

    On its platforms (or --role ingest) the bot extracts articles in worker processes
    (COMMENTARY_EXTRACT_WORKERS, default 2; the terminal chat extracts in-process).
    """
    from bot.app import run_bot

    settings = settings_or_exit()
    code = run_async(run_bot(settings, console=console, role=role.value))
    raise typer.Exit(code or 0)


# --- sources ----------------------------------------------------------------------------------
def source_json(source: Source) -> dict[str, Any]:
    """A source in `sources list --format json` (see README: a stable contract)."""
    from bot.ingest.timing import expected_next_run

    # A source the running scheduler has not stored a next run for yet still has a due time.
    upcoming = source.next_run_at or expected_next_run(source)
    state = source.state
    return {
        "name": source.name,
        "url": source.url,
        "kind": source.kind,
        "interval_seconds": source.interval_seconds,
        "title": source.title,
        "state": state,
        "paused_reason": source.paused_reason,
        "last_ok_at": source.last_ok_at.isoformat() if source.last_ok_at else None,
        "last_error": source.last_error,
        "last_error_at": source.last_error_at.isoformat() if source.last_error_at else None,
        "consecutive_failures": source.consecutive_failures,
        "next_run_at": upcoming.isoformat() if upcoming else None,
    }


@sources_app.command("add")
def sources_add(
    url: str = typer.Argument(..., help="Feed URL or listing page URL."),
    name: str | None = typer.Option(None, "--name", help="Short name (default: from the title)."),
    interval: str = typer.Option("30m", "--interval", help="Poll interval: 90s, 15m, 2h."),
    kind: Kind | None = typer.Option(None, "--kind", help="feed or page (default: detect)."),
    selector: str | None = typer.Option(None, "--selector", help="CSS selector for page links."),
    force: bool = typer.Option(
        False, "--force", help="Add it even if it does not work now (retried on schedule)."
    ),
) -> None:
    """Add a source and fetch it once now; refuses (exit 2) an address that does not work."""
    from bot.core import Core
    from bot.errors import SourceError, SourceRefused

    try:
        seconds = check_source_interval(parse_duration(interval))
    except ValueError as exc:
        fail(str(exc))
    settings = settings_or_exit()

    async def go() -> None:
        async with Core.open(settings) as core:
            try:
                report = await core.add_source(
                    url,
                    name=name,
                    interval=seconds,
                    kind=source_kind(kind.value) if kind else None,
                    selector=selector,
                    trusted=True,
                    added_by="cli",
                    force=force,
                )
            except SourceRefused as exc:
                fail(f"not added: {exc} (--force adds it anyway; it is then retried on schedule)")
            except SourceError as exc:
                fail(str(exc))
            s = report.source
            line = f"Added {s.name} ({report.kind}, every {format_duration(s.interval_seconds)})"
            if report.title:
                line += f": {report.title}"
            plural = "entry" if report.entries == 1 else "entries"
            print(line + f" — {report.entries} {plural}")
            if report.entries == 0 and report.kind == "page" and not report.error:
                print(
                    "No article links were recognised on that page; if it lists articles, "
                    f"set a selector: commentary-bot sources edit {s.name} --selector 'h2 a'"
                )
            if report.error:
                print(f"First fetch failed: {report.error} (it will be retried on schedule)")

    run_async(go())


@sources_app.command("edit")
def sources_edit(
    name: str = typer.Argument(..., help="The source to change (see: sources list)."),
    url: str | None = typer.Option(None, "--url", help="A new feed or page address."),
    interval: str | None = typer.Option(None, "--interval", help="A new poll interval."),
    selector: str | None = typer.Option(
        None, "--selector", help="A new CSS selector for page links ('' clears it)."
    ),
    new_name: str | None = typer.Option(None, "--name", help="A new name."),
    force: bool = typer.Option(
        False, "--force", help="Keep a new address even if it does not work now."
    ),
) -> None:
    """Change a source in place (its pieces and subscriptions stay); a new address is tried."""
    from bot.core import Core
    from bot.errors import SourceError, SourceRefused

    seconds = None
    if interval is not None:
        try:
            seconds = check_source_interval(parse_duration(interval))
        except ValueError as exc:
            fail(str(exc))
    if url is None and seconds is None and selector is None and new_name is None:
        fail("nothing to change: give --url, --interval, --selector or --name")
    settings = settings_or_exit()

    async def go() -> None:
        async with Core.open(settings) as core:
            try:
                source = await core.edit_source(
                    name,
                    url=url,
                    interval=seconds,
                    selector=selector,
                    new_name=new_name,
                    force=force,
                )
            except SourceRefused as exc:
                fail(f"not changed: {exc} (--force keeps it anyway; it is retried on schedule)")
            except SourceError as exc:
                fail(str(exc).replace("See /sources.", "See: commentary-bot sources list"))
            parts = [f"every {format_duration(source.interval_seconds)}", source.url]
            if source.selector:
                parts.append(f"selector {source.selector!r}")
            print(f"Changed {source.name}: " + ", ".join(parts))

    run_async(go())


@sources_app.command("list")
def sources_list(
    format: TableOrJson = typer.Option(TableOrJson.table, "--format", help="table or json."),
) -> None:
    """The sources with state, last success, last error and next run."""

    sources = with_core(settings_or_exit(), lambda core: core.sources())
    items = [source_json(s) for s in sources]
    if format == TableOrJson.json:
        emit_json(items)
        return
    if not items:
        print("No sources. Add one with: commentary-bot sources add URL")
        return
    from rich.table import Column, Table

    table = Table("kind", "every", "state", "last ok", "last error", "next run")
    # Names are what `sources remove NAME` needs: never cut them.
    table.columns.insert(0, Column("name", no_wrap=True, overflow="ignore"))
    for s in items:
        table.add_row(
            s["name"],
            s["kind"],
            format_duration(s["interval_seconds"]),
            s["state"],
            (s["last_ok_at"] or "-")[:19],
            (s["last_error"] or "-")[:60],
            (s["next_run_at"] or "-")[:19],
        )
    table_console().print(table)


@sources_app.command("remove")
def sources_remove(name: str) -> None:
    """Remove a source (its pieces stay searchable); subscribed chats are told."""
    removed = with_core(settings_or_exit(), lambda core: core.remove_source(name))
    if removed is None:
        fail(f"no source named {name!r} (see: commentary-bot sources list)")
    told = removed.chats_told
    print(f"Removed {removed.source.name}." + (f" {told} chat(s) will be told." if told else ""))


@sources_app.command("import")
def sources_import(
    path: Path = typer.Argument(..., help="An OPML file."),
    interval: str = typer.Option("30m", "--interval", help="Poll interval for new sources."),
) -> None:
    """Import sources from OPML (existing names and URLs are skipped)."""
    from bot.core import SourceSpec
    from bot.sources.opml import parse_opml

    settings = settings_or_exit()
    try:
        outlines = parse_opml(path.read_bytes())
    except OSError as exc:
        fail(f"{path}: cannot read ({exc.strerror})")
    except ValueError as exc:
        fail(f"{path}: {exc}")
    try:
        seconds = check_source_interval(parse_duration(interval))
    except ValueError as exc:
        fail(str(exc))
    specs = [
        # A file's interval beyond the bounds is brought inside them.
        SourceSpec(
            o.name,
            o.url,
            o.kind,
            min(max(o.interval_seconds or seconds, MIN_SOURCE_INTERVAL), MAX_SOURCE_INTERVAL),
            o.selector,
        )
        for o in outlines
    ]
    with progress_bar("importing", len(specs)) as advance:
        report = with_core(
            settings, lambda core: core.import_sources(specs, added_by="cli", progress=advance)
        )
    added, skipped = len(report.added), len(report.skipped)
    print(f"Imported {added} source(s), skipped {skipped} already present.")


@sources_app.command("export")
def sources_export(
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
) -> None:
    """Export the sources as OPML."""
    from bot.sources.opml import OpmlOutline, export_opml

    sources = with_core(settings_or_exit(), lambda core: core.sources())
    text = export_opml(
        [OpmlOutline(s.name, s.url, s.kind, None, s.interval_seconds, s.selector) for s in sources]
    )
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


# --- status -----------------------------------------------------------------------------------
@app.command(short_help="Sources, outbox, recent messages, database size.")
def status(
    format: TextOrJson = typer.Option(TextOrJson.text, "--format", help="text or json."),
) -> None:
    """Sources by state with their last errors, the outbox, recent deliveries, database size."""
    from bot.core import Core
    from bot.status import StatusReport

    settings = settings_or_exit()

    async def go() -> StatusReport:
        async with Core.open(settings) as core:
            return await core.status()

    report = run_async(go())
    if format == TextOrJson.json:
        emit_json(report.to_json())
    else:
        print(report.to_text())


# --- fetch, latest, summarize ----------------------------------------------------------------
@app.command(short_help="One polling round now, then exit.")
def fetch(
    source: str | None = typer.Option(None, "--source", help="Only this source."),
    format: TableOrJson = typer.Option(TableOrJson.table, "--format", help="table or json."),
) -> None:
    """One polling round now, then exit (0 even if some sources failed)."""
    from bot.core import Core
    from bot.errors import SourceError

    settings = settings_or_exit()

    async def go() -> list:
        async with Core.open(settings) as core:
            from bot.app import prepare

            await prepare(core)
            total = 1 if source else len(await core.sources(active_only=True))
            with progress_bar("polling", total) as advance:
                try:
                    return await core.poll_now(source, progress=lambda _r: advance())
                except SourceError as exc:
                    fail(str(exc).replace("See /sources.", "See: commentary-bot sources list"))

    reports = run_async(go())
    rows = [
        {
            "source": r.source,
            "status": r.status,
            "new": r.new,
            "updated": r.updated,
            "entries": r.entries,
            "error": r.error,
            "seconds": round(r.seconds, 3),
        }
        for r in reports
    ]
    if format == TableOrJson.json:
        emit_json(
            {
                "sources": rows,
                "totals": {
                    "sources": len(rows),
                    "new": sum(r["new"] for r in rows),
                    "not_modified": sum(r["status"] == "not_modified" for r in rows),
                    "errors": sum(r["status"] in ("error", "paused") for r in rows),
                },
            }
        )
        return
    from rich.table import Table

    table = Table("source", "status", "new", "updated", "entries", "error")
    for r in rows:
        table.add_row(
            r["source"],
            r["status"],
            str(r["new"]),
            str(r["updated"]),
            str(r["entries"]),
            (r["error"] or "")[:70],
        )
    table_console().print(table)


def piece_json(piece: Piece) -> dict[str, Any]:
    return {
        "id": piece.id,
        "title": piece.title,
        "url": piece.url,
        "authors": piece.authors,
        "outlet": piece.outlet,
        "published": piece.published.isoformat() if piece.published else None,
        "language": piece.language,
        "standfirst": piece.standfirst,
        "summary": piece.summary,
        "summary_method": piece.summary_method,
        "also_in": [{"outlet": o, "url": u} for o, u in piece.also_in],
    }


@app.command()
def latest(
    n: int = typer.Option(3, "-n", min=1, max=100, help="How many pieces."),
    format: TextOrJson = typer.Option(TextOrJson.text, "--format", help="text or json."),
) -> None:
    """The newest stored pieces."""
    from bot.adapters.console import render_reply
    from bot.messages import post_for

    pieces = with_core(settings_or_exit(), lambda core: core.latest(n))
    if format == TextOrJson.json:
        emit_json([piece_json(p) for p in pieces])
        return
    if not pieces:
        print("No pieces yet. Run: commentary-bot fetch")
    for piece in pieces:
        reply = post_for(piece)
        reply.actions = []
        print(render_reply(reply) + "\n")


@app.command()
def summarize(
    path_or_url: str = typer.Argument(..., help="An HTML or text file, or an http(s) URL."),
    format: TextOrJson = typer.Option(TextOrJson.text, "--format", help="text or json."),
    length: Length = typer.Option(Length.standard, "--length", help="short, standard or long."),
) -> None:
    """Extract and summarize one article."""
    from bot.pipeline.document import extract_document, format_card, piece_to_json
    from bot.pipeline.extract import ExtractionError
    from bot.pipeline.summarize import summarize as summarize_piece

    settings = settings_or_exit()
    if path_or_url.startswith(("http://", "https://")):
        from bot.ingest.articles import ArticleBuilder
        from bot.sources.http import Fetcher, FetchError

        async def go() -> ExtractedPiece:
            async with Fetcher(
                user_agent=settings.commentary_user_agent, max_bytes=settings.commentary_max_bytes
            ) as fetcher:
                builder = ArticleBuilder(fetcher)
                try:
                    piece = await builder.from_url(path_or_url, guard=False)
                finally:
                    builder.close()
                return piece

        try:
            piece = asyncio.run(go())
        except (FetchError, ExtractionError) as exc:
            fail(f"{path_or_url}: {exc}")
    else:
        path = Path(path_or_url)
        try:
            content = path.read_bytes()
        except IsADirectoryError:
            fail(f"{path}: is a folder, not a file")
        except OSError as exc:
            fail(f"{path}: cannot read ({exc.strerror})")
        try:
            piece = extract_document(content, filename=path.name)
        except ExtractionError as exc:
            fail(f"{path}: {exc}")
    made = summarize_piece(piece, length.value)
    if settings.llm_base_url:
        made = asyncio.run(_llm_summary(settings, piece, length.value))
    if format == TextOrJson.json:
        emit_json(piece_to_json(piece, made))
    else:
        print(format_card(piece, made))


async def _llm_summary(settings: Settings, piece: ExtractedPiece, length: SummaryLength) -> Summary:
    """The configured LLM's summary (it falls back to the extractive one on any failure)."""
    from bot.pipeline.llm import LLMSummarizer

    if settings.llm_base_url is None:  # the caller checked; this keeps the type exact
        raise ConfigError("LLM_BASE_URL is not set")
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    llm = LLMSummarizer(
        settings.llm_base_url,
        key,
        settings.llm_model,
        timeout=settings.llm_timeout,
        daily_budget=settings.llm_daily_budget,
    )
    return await llm.summarize(piece, length)


# --- db ---------------------------------------------------------------------------------------
@db_app.command("migrate")
def db_migrate() -> None:
    """Create or upgrade the database schema (does nothing when up to date)."""
    from bot.database_url import PostgresURL
    from storage.db import connect, pending_migrations
    from storage.schema import migrations

    settings = settings_or_exit()
    location = settings.commentary_database
    if isinstance(location, PostgresURL):
        from storage.postgres.db import migrate_sync

        try:
            pending = migrate_sync(location)
        except StorageError as exc:
            fail(str(exc))
    else:
        try:
            db = connect(location)
            pending = pending_migrations(db)
            migrations.apply(db)
        except StorageError as exc:
            fail(str(exc))
        except Exception as exc:  # sqlite3 errors on a corrupt file
            fail(f"{location}: {exc}")
        db.conn.close()
    if pending:
        print(f"Applied {len(pending)} migration(s) to {location}: " + ", ".join(pending))
    else:
        print(f"{location} is up to date.")


@db_app.command("copy")
def db_copy(
    sqlite_path: Path = typer.Argument(..., help="The SQLite database to copy from."),
    target: str = typer.Argument(
        "",
        help="postgresql://user@host:port/db to copy into (default: COMMENTARY_DATABASE)."
        " Leave the password out: PGPASSWORD or ~/.pgpass supply it.",
        show_default=False,
    ),
) -> None:
    """Move a bot to PostgreSQL: copy every row of a SQLite database into an empty one."""
    from bot.database_url import PostgresURL, is_postgres_url
    from storage.postgres.copy import copy_sqlite_to_postgres

    settings = settings_or_exit()
    if target and not is_postgres_url(target):
        fail("the target must be a postgresql:// URL")
    try:
        url = PostgresURL(target) if target else settings.commentary_database
    except ValueError as exc:
        fail(str(exc))
    if not isinstance(url, PostgresURL):
        fail("give a postgresql:// URL, or set COMMENTARY_DATABASE to one")
    assert isinstance(url, PostgresURL)
    setup_logging(settings.commentary_log_level, [*settings.secrets, *url.passwords])
    try:
        counts = copy_sqlite_to_postgres(sqlite_path, url)
    except StorageError as exc:
        fail(str(exc))
    summary = ", ".join(f"{n} {table}" for table, n in counts.items() if n)
    print(f"Copied {summary or 'nothing'} from {sqlite_path} to {url}.")


@db_app.command("backup")
def db_backup(path: Path = typer.Argument(..., help="Where to write the copy.")) -> None:
    """A consistent copy of the live database."""
    from storage import backup, open_database

    settings = settings_or_exit()
    if not isinstance(settings.commentary_database, Path):
        fail("db backup copies a SQLite file; for PostgreSQL use pg_dump")
    try:
        db = open_database(sqlite_path(settings))
        backup(db, path)
    except StorageError as exc:
        fail(str(exc))
    print(f"Backed up {settings.commentary_database} to {path}.")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
