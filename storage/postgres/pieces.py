"""Pieces, their authors and links, and full-text search, on PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from bot.errors import InvalidSearch
from bot.types import Piece, PieceDraft, SaveResult
from storage.postgres import search as fts
from storage.postgres.db import Conn, PgBase
from storage.postgres.sources import like_escape
from storage.protocols import Router
from storage.rows import piece_from_row, utcnow
from storage.search import (
    RANK_WINDOW,
    SEARCH_BUDGET,
    SearchTooBroad,
    check_query,
)

# The pieces one chat may not see (parameter: its id): stored for another chat's /summary and
# published by no source (SQLite's storage.search.HIDDEN_FROM_CHAT).
HIDDEN_FROM_CHAT = (
    "SELECT id FROM pieces WHERE on_demand AND id NOT IN"
    " (SELECT piece_id FROM piece_requests WHERE chat_id = %s)"
)

# ts_rank weights for {D, C, B, A}: body 1, standfirst 2, title 5 (SQLite's bm25 weights).
_WEIGHTS = "'{0, 0.2, 0.4, 1.0}'"
_HEADLINE = (
    "StartSel=[, StopSel=], MaxWords=16, MinWords=8, ShortWord=2,"
    " MaxFragments=1, FragmentDelimiter=…"
)


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.strip().casefold()
        if item and item.strip() and key not in seen:
            seen.add(key)
            out.append(item.strip())
    return out


SEARCH_TIMEOUT_MS = int(SEARCH_BUDGET * 1000)


class PgPieces(PgBase):
    # --- identity -------------------------------------------------------------------------
    async def piece_id_for_url(self, url: str) -> int | None:
        async with self._tx() as conn:
            return await self._piece_id_for_url(conn, url)

    async def _piece_id_for_url(self, conn: Conn, url: str) -> int | None:
        row = await self._one(conn, "SELECT piece_id FROM piece_links WHERE url = %s", [url])
        if row:
            return int(row["piece_id"])
        row = await self._one(conn, "SELECT id FROM pieces WHERE url = %s", [url])
        return int(row["id"]) if row else None

    async def piece_id_for_guid(self, guid: str, source_id: int | None) -> int | None:
        async with self._tx() as conn:
            return await self._piece_id_for_guid(conn, guid, source_id)

    async def _piece_id_for_guid(self, conn: Conn, guid: str, source_id: int | None) -> int | None:
        row = await self._one(
            conn,
            "SELECT id FROM pieces WHERE guid = %s"
            " AND (source_id IS NOT DISTINCT FROM %s OR %s::bigint IS NULL) ORDER BY id LIMIT 1",
            [guid, source_id, source_id],
        )
        return int(row["id"]) if row else None

    async def recent_fingerprints(self, limit: int = 5000) -> list[tuple[int, str]]:
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT id, fingerprint FROM pieces WHERE fingerprint IS NOT NULL"
                " ORDER BY id DESC LIMIT %s",
                [limit],
            )
        return [(r["id"], r["fingerprint"]) for r in rows]

    async def seen_keys(self, source_id: int, keys: list[str]) -> set[str]:
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT entry_key FROM seen_entries WHERE source_id = %s AND entry_key = ANY(%s)",
                [source_id, list(keys)],
            )
        return {r["entry_key"] for r in rows}

    async def mark_seen(self, source_id: int, key: str, piece_id: int | None = None) -> None:
        async with self._tx() as conn:
            await self._mark_seen(conn, source_id, [key], piece_id)

    async def mark_seen_many(self, source_id: int, keys: list[str]) -> None:
        """Mark entries seen in one commit (a first poll's entries older than its backlog)."""
        async with self._tx() as conn:
            await self._mark_seen(conn, source_id, keys, None)

    async def _mark_seen(
        self, conn: Conn, source_id: int, keys: list[str], piece_id: int | None
    ) -> None:
        if not keys:
            return
        await self._run(
            conn,
            "INSERT INTO seen_entries (source_id, entry_key, piece_id, seen_at)"
            " SELECT %s, k, %s, %s FROM unnest(%s::text[]) AS k"
            " ON CONFLICT (source_id, entry_key) DO UPDATE SET piece_id ="
            " coalesce(excluded.piece_id, seen_entries.piece_id)",
            [source_id, piece_id, utcnow(), list(dict.fromkeys(keys))],
        )

    # --- saving ---------------------------------------------------------------------------
    async def save_piece(
        self, draft: PieceDraft, *, route: Router | None = None, duplicate_of: int | None = None
    ) -> SaveResult:
        """Store a piece once; write its deliveries in the same transaction (see SQLite's)."""
        async with self._tx() as conn:
            # Two processes saving the same URL: the second waits here, then finds it.
            await self._run(conn, "SELECT pg_advisory_xact_lock(hashtext(%s))", [draft.url])
            existing = await self._piece_id_for_url(conn, draft.url)
            for link in draft.links:
                existing = existing or await self._piece_id_for_url(conn, link)
            if existing is None and draft.guid:
                existing = await self._piece_id_for_guid(conn, draft.guid, draft.source_id)
            if existing is not None:
                result = await self._update_existing(conn, existing, draft)
                adopted = draft.source_id is not None and await self._adopt(
                    conn, existing, draft.source_id
                )
                if adopted:
                    # First stored for a /summary, now published by a source (see SQLite's).
                    if route is not None:
                        result.deliveries = await self._fan_out(conn, existing, route)
                elif route is not None and draft.source_id is not None:
                    owner = await self._one(
                        conn, "SELECT source_id FROM pieces WHERE id = %s", [existing]
                    )
                    if owner and owner["source_id"] != draft.source_id:
                        result.deliveries = await self._fan_out(
                            conn, existing, route, only_source_id=draft.source_id
                        )
            elif duplicate_of is not None:
                await self._add_links(conn, duplicate_of, draft, syndicated=True)
                count = 0
                adopted = draft.source_id is not None and await self._adopt(
                    conn, duplicate_of, draft.source_id
                )
                if adopted:
                    if route is not None:  # a /summary piece a source now publishes
                        count = await self._fan_out(conn, duplicate_of, route)
                elif route is not None and draft.source_id is not None:
                    count = await self._fan_out(
                        conn, duplicate_of, route, only_source_id=draft.source_id
                    )
                result = SaveResult(
                    duplicate_of, "duplicate", deliveries=count, duplicate_of=duplicate_of
                )
            else:
                piece_id = await self._insert_piece(conn, draft)
                count = await self._fan_out(conn, piece_id, route) if route is not None else 0
                result = SaveResult(piece_id, "new", deliveries=count)
            if draft.source_id is not None:
                keys = [k for k in [draft.entry_key, *draft.extra_keys] if k]
                await self._mark_seen(conn, draft.source_id, keys, result.piece_id)
        return result

    async def _adopt(self, conn: Conn, piece_id: int, source_id: int) -> bool:
        """A piece stored for a /summary becomes the source's own (False: it already was)."""
        row = await self._one(
            conn,
            "UPDATE pieces SET on_demand = false, source_id = %s WHERE id = %s AND on_demand"
            " RETURNING id",
            [source_id, piece_id],
        )
        return row is not None

    async def add_piece_request(self, piece_id: int, chat_id: int) -> None:
        """This chat asked for the piece (/summary): it may see it in /latest and /search."""
        async with self._tx() as conn:
            await self._run(
                conn,
                "INSERT INTO piece_requests (chat_id, piece_id, requested_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (chat_id, piece_id) DO UPDATE"
                " SET requested_at = excluded.requested_at",
                [chat_id, piece_id, utcnow()],
            )

    async def _insert_piece(self, conn: Conn, draft: PieceDraft) -> int:
        p = draft.piece
        now = utcnow()
        summary = draft.summary
        row = await self._one(
            conn,
            "INSERT INTO pieces (url, guid, fingerprint, source_id, title, standfirst, text,"
            " pull_quotes, author_bio, disclaimer, summary, summary_short, summary_long,"
            " summary_method, published, outlet, language, fetched_at, updated_at, on_demand)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s) RETURNING id",
            [
                draft.url,
                draft.guid,
                draft.fingerprint,
                draft.source_id,
                p.title or draft.url,
                p.standfirst,
                p.text,
                json.dumps(p.pull_quotes, ensure_ascii=False),
                p.author_bio,
                p.disclaimer,
                summary.text if summary else None,
                draft.summary_short,
                draft.summary_long,
                summary.method if summary else None,
                p.published,
                p.outlet,
                p.language,
                now,
                now,
                draft.on_demand and draft.source_id is None,
            ],
        )
        assert row is not None
        piece_id = int(row["id"])
        await self._add_links(conn, piece_id, draft, syndicated=False)
        for position, name in enumerate(_unique(p.authors)):
            author_id = await self._author_id(conn, name, p.author_bio if position == 0 else None)
            await self._run(
                conn,
                "INSERT INTO piece_authors (piece_id, author_id, position) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                [piece_id, author_id, position],
            )
        return piece_id

    async def _update_existing(self, conn: Conn, piece_id: int, draft: PieceDraft) -> SaveResult:
        await self._add_links(conn, piece_id, draft, syndicated=False)
        row = await self._one(
            conn, "SELECT text, title, summary FROM pieces WHERE id = %s", [piece_id]
        )
        p = draft.piece
        if row and p.text and (row["text"] != p.text or row["title"] != p.title):
            summary = draft.summary
            await self._run(
                conn,
                "UPDATE pieces SET title = %s, standfirst = %s, text = %s, pull_quotes = %s,"
                " author_bio = coalesce(%s, author_bio), summary = coalesce(%s, summary),"
                " summary_short = coalesce(%s, summary_short),"
                " summary_long = coalesce(%s, summary_long),"
                " summary_method = coalesce(%s, summary_method),"
                " fingerprint = coalesce(%s, fingerprint), updated_at = %s WHERE id = %s",
                [
                    p.title or row["title"],
                    p.standfirst,
                    p.text,
                    json.dumps(p.pull_quotes, ensure_ascii=False),
                    p.author_bio,
                    summary.text if summary else None,
                    draft.summary_short,
                    draft.summary_long,
                    summary.method if summary else None,
                    draft.fingerprint,
                    utcnow(),
                    piece_id,
                ],
            )
            return SaveResult(
                piece_id,
                "updated",
                previous_title=row["title"],
                previous_summary=row["summary"],
            )
        return SaveResult(piece_id, "unchanged")

    async def _add_links(
        self, conn: Conn, piece_id: int, draft: PieceDraft, *, syndicated: bool
    ) -> None:
        for url in _unique([draft.url, *draft.links]):
            await self._run(
                conn,
                "INSERT INTO piece_links (url, piece_id, outlet, source_id, syndicated)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [url, piece_id, draft.piece.outlet, draft.source_id, syndicated],
            )

    async def _author_id(self, conn: Conn, name: str, bio: str | None) -> int:
        row = await self._one(
            conn,
            "INSERT INTO authors (name, bio) VALUES (%s, %s) ON CONFLICT ((lower(name)))"
            " DO UPDATE SET bio = coalesce(authors.bio, excluded.bio) RETURNING id",
            [name, bio],
        )
        assert row is not None
        return int(row["id"])

    # --- reading --------------------------------------------------------------------------
    async def get_piece(self, piece_id: int) -> Piece | None:
        async with self._tx() as conn:
            return await self._piece_in(conn, piece_id)

    async def _piece_in(self, conn: Conn, piece_id: int) -> Piece | None:
        row = await self._one(conn, "SELECT * FROM pieces WHERE id = %s", [piece_id])
        return (await self._hydrate(conn, [row]))[0] if row else None

    async def count_pieces(self) -> int:
        async with self._tx() as conn:
            row = await self._one(conn, "SELECT count(*) AS n FROM pieces")
        return int(row["n"]) if row else 0

    async def latest_pieces(
        self,
        limit: int = 3,
        *,
        source_id: int | None = None,
        author: str | None = None,
        keyword: str | None = None,
        chat_id: int | None = None,
    ) -> list[Piece]:
        """Newest first (by published time, else fetch time); ``chat_id``: as it sees them."""
        if keyword:
            found = await self.search(keyword, limit=limit, newest_first=True, chat_id=chat_id)
            return [p for p, _ in found]
        where: list[str] = []
        params: list[Any] = []
        if chat_id is not None:
            where.append(f"p.id NOT IN ({HIDDEN_FROM_CHAT})")
            params.append(chat_id)
        if source_id is not None:
            where.append("p.source_id = %s")
            params.append(source_id)
        if author:
            where.append(
                "p.id IN (SELECT pa.piece_id FROM piece_authors pa JOIN authors a"
                " ON a.id = pa.author_id WHERE lower(a.name) = lower(%s))"
            )
            params.append(author)
        sql = "SELECT p.* FROM pieces p"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY coalesce(p.published, p.fetched_at) DESC, p.id DESC LIMIT %s"
        async with self._tx() as conn:
            rows = await self._all(conn, sql, [*params, limit])
            return await self._hydrate(conn, rows)

    async def search(
        self,
        query: str,
        *,
        limit: int = 5,
        newest_first: bool = False,
        chat_id: int | None = None,
    ) -> list[tuple[Piece, str]]:
        """Full-text search: the same query language and ranking idea as SQLite's.

        Ranking covers the newest ``RANK_WINDOW`` matches (by id, the storing order), ordered
        by ``ts_rank`` with title weighted over standfirst over body; ``newest_first`` takes the
        newest ``limit`` matches. The query's shape has SQLite's bounds, and the statements run
        under the same time budget (``statement_timeout``): a query too broad to finish is
        cancelled and reported, never left holding a connection.
        """
        check_query(query)  # the same bounds on the query's shape as SQLite's
        try:
            compiled = fts.compile_query(query)
        except fts.QuerySyntaxError as exc:
            raise InvalidSearch(str(exc)) from None
        tsquery = compiled.sql
        # Other chats' /summary pieces left out when asked for one chat's view.
        hidden = f" AND id NOT IN ({HIDDEN_FROM_CHAT})" if chat_id is not None else ""
        chat = [chat_id] if chat_id is not None else []
        if newest_first:
            ids_sql = (
                f"SELECT id FROM pieces WHERE search @@ {tsquery}{hidden} ORDER BY id DESC LIMIT %s"
            )
            params: list[Any] = [*compiled.params, *chat, limit]
        else:
            ids_sql = (
                f"WITH q AS (SELECT {tsquery} AS q),"
                " recent AS (SELECT p.id, p.search FROM pieces p, q WHERE p.search @@ q.q"
                f"{hidden}"
                " ORDER BY p.id DESC LIMIT %s)"
                f" SELECT recent.id FROM recent, q ORDER BY ts_rank({_WEIGHTS}, recent.search, q.q)"
                " DESC, recent.id DESC LIMIT %s"
            )
            params = [*compiled.params, *chat, RANK_WINDOW, limit]
        async with self._tx() as conn:
            try:
                await self._run(conn, f"SET LOCAL statement_timeout = {SEARCH_TIMEOUT_MS}")
                ids = [r["id"] for r in await self._all(conn, ids_sql, params)]
                if not ids:
                    return []
                rows = await self._all(
                    conn,
                    "SELECT p.*, ts_headline('english', p.text, q.q, %s) AS snip"
                    f" FROM pieces p, (SELECT {tsquery} AS q) q WHERE p.id = ANY(%s)",
                    [_HEADLINE, *compiled.params, ids],
                )
            except psycopg.errors.QueryCanceled:
                raise SearchTooBroad(
                    "the search took too long; try fewer or longer words"
                ) from None
            by_id = {r["id"]: r for r in rows}
            ordered = [by_id[i] for i in ids if i in by_id]
            if newest_first:
                ordered.sort(
                    key=lambda r: (r["published"] or r["fetched_at"], r["id"]), reverse=True
                )
            pieces = await self._hydrate(conn, ordered)
        return [(piece, by_id[piece.id]["snip"] or "") for piece in pieces]

    async def similar_pieces(
        self, piece_id: int, terms: list[str], limit: int = 3, *, chat_id: int | None = None
    ) -> list[Piece]:
        """Pieces sharing the most of ``terms`` (caller picks distinctive words), not itself;
        ``chat_id``: as that chat sees them."""
        words = [t.replace('"', "") for t in terms if t.strip()]
        if not words:
            return []
        compiled = fts.any_of(words)
        hidden = f" AND p.id NOT IN ({HIDDEN_FROM_CHAT})" if chat_id is not None else ""
        chat = [chat_id] if chat_id is not None else []
        async with self._tx() as conn:
            await self._run(conn, f"SET LOCAL statement_timeout = {SEARCH_TIMEOUT_MS}")
            rows = await self._all(
                conn,
                f"SELECT p.* FROM pieces p, (SELECT {compiled.sql} AS q) q"
                f" WHERE p.search @@ q.q AND p.id != %s{hidden}"
                f" ORDER BY ts_rank({_WEIGHTS}, p.search, q.q) DESC, p.id DESC LIMIT %s",
                [*compiled.params, piece_id, *chat, limit],
            )
            return await self._hydrate(conn, rows)

    async def find_authors(
        self, prefix: str = "", limit: int = 25, *, chat_id: int | None = None
    ) -> list[tuple[str, int]]:
        """Known authors starting with ``prefix`` (any word of the name), with piece counts;
        with ``chat_id``, only writers of pieces that chat may see."""
        escaped = like_escape(prefix)
        hidden = f" AND pa.piece_id NOT IN ({HIDDEN_FROM_CHAT})" if chat_id is not None else ""
        seen = " HAVING count(pa.piece_id) > 0" if chat_id is not None else ""
        async with self._tx() as conn:
            rows = await self._all(
                conn,
                "SELECT a.name, count(pa.piece_id) AS n FROM authors a"
                f" LEFT JOIN piece_authors pa ON pa.author_id = a.id{hidden}"
                " WHERE a.name ILIKE %s ESCAPE '\\' OR a.name ILIKE %s ESCAPE '\\'"
                f" GROUP BY a.id{seen} ORDER BY n DESC, lower(a.name) LIMIT %s",
                [
                    *([chat_id] if chat_id is not None else []),
                    escaped + "%",
                    "% " + escaped + "%",
                    limit,
                ],
            )
        return [(r["name"], int(r["n"])) for r in rows]

    async def get_author(self, name: str) -> tuple[str, str | None] | None:
        async with self._tx() as conn:
            row = await self._one(
                conn, "SELECT name, bio FROM authors WHERE lower(name) = lower(%s)", [name]
            )
        return (row["name"], row["bio"]) if row else None

    async def _hydrate(self, conn: Conn, rows: list[dict[str, Any]]) -> list[Piece]:
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        authors: dict[int, list[str]] = {i: [] for i in ids}
        for r in await self._all(
            conn,
            "SELECT pa.piece_id, a.name FROM piece_authors pa JOIN authors a"
            " ON a.id = pa.author_id WHERE pa.piece_id = ANY(%s) ORDER BY pa.position",
            [ids],
        ):
            authors[r["piece_id"]].append(r["name"])
        also: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
        for r in await self._all(
            conn,
            "SELECT piece_id, outlet, url FROM piece_links WHERE syndicated"
            " AND piece_id = ANY(%s) ORDER BY seq",
            [ids],
        ):
            also[r["piece_id"]].append((r["outlet"] or "", r["url"]))
        return [piece_from_row(r, authors[r["id"]], also[r["id"]]) for r in rows]
