"""The schema, grown by numbered migrations (sqlite-utils Migrations: each runs once)."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("commentary-bot")


@migrations()
def m001_initial(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL COLLATE NOCASE UNIQUE,
            url TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'feed' CHECK (kind IN ('feed', 'page')),
            interval_seconds INTEGER NOT NULL DEFAULT 1800,
            selector TEXT,
            title TEXT,
            etag TEXT,
            last_modified TEXT,
            last_ok_at TEXT,
            last_error TEXT,
            last_error_at TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            paused INTEGER NOT NULL DEFAULT 0,
            paused_reason TEXT,
            next_run_at TEXT,
            first_poll_done INTEGER NOT NULL DEFAULT 0,
            trusted INTEGER NOT NULL DEFAULT 1,
            added_by TEXT,
            created_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX sources_url ON sources(url);

        CREATE TABLE pieces (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            guid TEXT,
            fingerprint TEXT,
            source_id INTEGER REFERENCES sources(id) ON DELETE SET NULL,
            title TEXT NOT NULL,
            standfirst TEXT,
            text TEXT NOT NULL DEFAULT '',
            pull_quotes TEXT NOT NULL DEFAULT '[]',
            author_bio TEXT,
            disclaimer TEXT,
            summary TEXT,
            summary_short TEXT,
            summary_long TEXT,
            summary_method TEXT,
            published TEXT,
            outlet TEXT,
            language TEXT,
            fetched_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX pieces_guid ON pieces(guid);
        CREATE INDEX pieces_fingerprint ON pieces(fingerprint);
        CREATE INDEX pieces_order ON pieces(published DESC, id DESC);
        CREATE INDEX pieces_source ON pieces(source_id, id);

        -- Every URL a piece is known by: its canonical URL, feed links, syndicated copies.
        CREATE TABLE piece_links (
            url TEXT PRIMARY KEY,
            piece_id INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
            outlet TEXT,
            source_id INTEGER REFERENCES sources(id) ON DELETE SET NULL,
            syndicated INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX piece_links_piece ON piece_links(piece_id);

        CREATE TABLE authors (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL COLLATE NOCASE UNIQUE,
            bio TEXT
        );
        CREATE TABLE piece_authors (
            piece_id INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
            author_id INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
            position INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (piece_id, author_id)
        );
        CREATE INDEX piece_authors_author ON piece_authors(author_id, piece_id);

        -- Entries already seen per source, so a poll never fetches or stores an entry twice.
        CREATE TABLE seen_entries (
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            entry_key TEXT NOT NULL,
            piece_id INTEGER REFERENCES pieces(id) ON DELETE SET NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (source_id, entry_key)
        );

        CREATE TABLE chats (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            platform_chat_id TEXT NOT NULL,
            thread_id TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT 'private',
            title TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            inactive_reason TEXT,
            settings TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            UNIQUE (platform, platform_chat_id, thread_id)
        );

        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('source', 'author', 'keyword')),
            target TEXT NOT NULL COLLATE NOCASE,
            source_id INTEGER REFERENCES sources(id) ON DELETE CASCADE,
            include TEXT NOT NULL DEFAULT '[]',
            exclude TEXT NOT NULL DEFAULT '[]',
            created_by TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (chat_id, kind, target)
        );
        CREATE INDEX subscriptions_source ON subscriptions(source_id);
        CREATE INDEX subscriptions_target ON subscriptions(kind, target);

        -- The outbox: one row per piece and chat, written with the piece in one transaction.
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            piece_id INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            subscription_id INTEGER REFERENCES subscriptions(id) ON DELETE SET NULL,
            platform TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error TEXT,
            platform_message_id TEXT,
            reason TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            UNIQUE (piece_id, chat_id)
        );
        CREATE INDEX deliveries_due ON deliveries(platform, state, next_attempt_at, id);
        CREATE INDEX deliveries_chat ON deliveries(chat_id, state);

        -- Short notices to chats (a source was paused, ...), sent by the same workers.
        CREATE TABLE notices (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            platform TEXT NOT NULL,
            text TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            created_at TEXT NOT NULL
        );

        -- Platform message ids of everything the bot posted about a piece, for reply commands.
        CREATE TABLE messages (
            platform TEXT NOT NULL,
            platform_chat_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            piece_id INTEGER REFERENCES pieces(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            PRIMARY KEY (platform, platform_chat_id, message_id)
        );

        CREATE TABLE kv (
            key TEXT PRIMARY KEY,
            value TEXT
        );
        """
    )
    db.table("pieces").enable_fts(
        ["title", "standfirst", "text"],
        fts_version="FTS5",
        create_triggers=True,
        tokenize="porter",
    )


@migrations()
def m002_pieces_recent(db: Database) -> None:
    # /latest orders by published time, else fetch time. An index on exactly that expression
    # lets SQLite read the first n entries instead of every piece (and, since the time
    # columns come after the text, every piece's overflow pages).
    db.execute(
        "CREATE INDEX IF NOT EXISTS pieces_recent"
        " ON pieces(coalesce(published, fetched_at) DESC, id DESC)"
    )


@migrations()
def m003_delivery_outcome_times(db: Database) -> None:
    # `status` counts messages failed and retried in the last hour and day. Partial indexes:
    # most rows never fail or retry, so those two stay tiny, and the sent one lets the
    # window count read only the recent end of a long history.
    db.executescript(
        """
        ALTER TABLE deliveries ADD COLUMN failed_at TEXT;
        ALTER TABLE deliveries ADD COLUMN retried_at TEXT;
        CREATE INDEX IF NOT EXISTS deliveries_sent_at ON deliveries(sent_at)
            WHERE sent_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS deliveries_failed_at ON deliveries(failed_at)
            WHERE failed_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS deliveries_retried_at ON deliveries(retried_at)
            WHERE retried_at IS NOT NULL;
        """
    )


@migrations()
def m004_entry_failures(db: Database) -> None:
    # Entries of a source that could not be built (bad link, always-failing article, data the
    # pipeline chokes on). Each has a bounded number of tries across rounds; then it is given
    # up (marked seen, reported once) and the row stays as the record of what was skipped.
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS entry_failures (
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            entry_key TEXT NOT NULL,
            label TEXT NOT NULL,
            tries INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL,
            entry_json TEXT,
            extra_keys TEXT NOT NULL DEFAULT '[]',
            post INTEGER NOT NULL DEFAULT 1,
            first_failed_at TEXT NOT NULL,
            last_failed_at TEXT NOT NULL,
            gave_up_at TEXT,
            PRIMARY KEY (source_id, entry_key)
        )
        """
    )


@migrations()
def m005_saved_pieces(db: Database) -> None:
    # Read later: each person's own list (platform + user id), not the chat's.
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS saved_pieces (
            platform TEXT NOT NULL,
            user_id TEXT NOT NULL,
            piece_id INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
            saved_at TEXT NOT NULL,
            PRIMARY KEY (platform, user_id, piece_id)
        );
        CREATE INDEX IF NOT EXISTS saved_pieces_time ON saved_pieces(platform, user_id, saved_at);
        """
    )


_FTS_COLUMNS = ("title", "standfirst", "text")


@migrations()
def m006_search_folds_arabic_marks(db: Database) -> None:
    # /search finds an Arabic word with or without its short vowels or tatweel: the index
    # holds text folded by fold_search() (storage.folding.fold_for_search, registered on
    # every connection by storage.db.connect) and queries are folded the same way. The
    # triggers index folded values, and delete exactly what they indexed.
    cols = ", ".join(f'"{c}"' for c in _FTS_COLUMNS)
    new = ", ".join(f'fold_search(new."{c}")' for c in _FTS_COLUMNS)
    old = ", ".join(f'fold_search(old."{c}")' for c in _FTS_COLUMNS)
    # Rows whose text changes when folded were indexed unfolded by the old triggers: take
    # them out with their old values, then back in folded (other rows are already right).
    changed = " OR ".join(f'fold_search("{c}") IS NOT "{c}"' for c in _FTS_COLUMNS)
    rows = db.execute(f"SELECT rowid, {cols} FROM pieces WHERE {changed}").fetchall()
    for row in rows:
        db.execute(
            f"INSERT INTO pieces_fts (pieces_fts, rowid, {cols}) VALUES ('delete', ?, ?, ?, ?)",
            row,
        )
        db.execute(
            f"INSERT INTO pieces_fts (rowid, {cols}) VALUES"
            " (?, fold_search(?), fold_search(?), fold_search(?))",
            row,
        )
    db.executescript(
        f"""
        DROP TRIGGER IF EXISTS pieces_ai;
        DROP TRIGGER IF EXISTS pieces_ad;
        DROP TRIGGER IF EXISTS pieces_au;
        CREATE TRIGGER pieces_ai AFTER INSERT ON pieces BEGIN
          INSERT INTO pieces_fts (rowid, {cols}) VALUES (new.rowid, {new});
        END;
        CREATE TRIGGER pieces_ad AFTER DELETE ON pieces BEGIN
          INSERT INTO pieces_fts (pieces_fts, rowid, {cols})
            VALUES ('delete', old.rowid, {old});
        END;
        CREATE TRIGGER pieces_au AFTER UPDATE OF title, standfirst, text ON pieces BEGIN
          INSERT INTO pieces_fts (pieces_fts, rowid, {cols})
            VALUES ('delete', old.rowid, {old});
          INSERT INTO pieces_fts (rowid, {cols}) VALUES (new.rowid, {new});
        END;
        """
    )


@migrations()
def m007_translations(db: Database) -> None:
    # /settings translate: a piece's title and summary in a chat's language, made once per
    # piece and language (each costs an LLM request) and shared by every chat that asks.
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS translations (
            piece_id INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
            language TEXT NOT NULL,
            title TEXT NOT NULL,
            summary TEXT NOT NULL,
            method TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (piece_id, language)
        )
        """
    )


@migrations()
def m008_corrections(db: Database) -> None:
    # Posts to bring up to date after their piece changed at the source: one row per post,
    # sent by the delivery worker like the outbox (and under the same rate budget). A second
    # change before the first is sent updates the waiting row instead of adding one.
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS corrections (
            id INTEGER PRIMARY KEY,
            piece_id INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            platform TEXT NOT NULL,
            message_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            next_attempt_at TEXT,
            created_at TEXT NOT NULL,
            done_at TEXT
        );
        CREATE UNIQUE INDEX IF NOT EXISTS corrections_waiting
            ON corrections(piece_id, chat_id, message_id) WHERE state = 'pending';
        CREATE INDEX IF NOT EXISTS corrections_due ON corrections(platform, state, id);
        CREATE INDEX IF NOT EXISTS corrections_piece ON corrections(piece_id, chat_id);
        """
    )


@migrations()
def m009_votes(db: Database) -> None:
    # Reactions that teach: one vote per member, piece and chat (+1 like, -1 dislike).
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS votes (
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            piece_id INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
            voted_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, piece_id, user_id)
        );
        CREATE INDEX IF NOT EXISTS votes_chat_time ON votes(chat_id, voted_at);
        -- The worker looks for held-back pieces to list every round: few rows, one probe.
        CREATE INDEX IF NOT EXISTS deliveries_held ON deliveries(chat_id) WHERE state = 'held';
        """
    )


@migrations()
def m010_piece_requests(db: Database) -> None:
    # A piece stored for a /summary (no source publishes it) belongs to the chats that asked:
    # it stays out of every other chat's /latest, /search and reply lists until a source the
    # bot follows publishes the same piece. Partial index: such pieces are few.
    db.executescript(
        """
        ALTER TABLE pieces ADD COLUMN on_demand INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX IF NOT EXISTS pieces_on_demand ON pieces(id) WHERE on_demand = 1;
        CREATE TABLE IF NOT EXISTS piece_requests (
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            piece_id INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
            requested_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, piece_id)
        );
        """
    )
