"""Pieces, their authors and links; saving a piece fans it out in the same transaction."""

from __future__ import annotations

import json
from typing import Any

from bot.types import Piece, PieceDraft, RouteCandidate, SaveResult
from storage.folding import fold_for_search
from storage.outbox import OutboxMixin
from storage.protocols import Router
from storage.rows import piece_from_row, to_text, utcnow
from storage.search import HIDDEN_FROM_CHAT, RANK_WINDOW, SearchTooBroad, search_ids

__all__ = ["RANK_WINDOW", "PiecesMixin", "SearchTooBroad"]


class PiecesMixin(OutboxMixin):
    # --- identity -------------------------------------------------------------------------
    def piece_id_for_url(self, url: str) -> int | None:
        row = self._one("SELECT piece_id FROM piece_links WHERE url = ?", [url])
        if row:
            return row["piece_id"]
        row = self._one("SELECT id FROM pieces WHERE url = ?", [url])
        return row["id"] if row else None

    def piece_id_for_guid(self, guid: str, source_id: int | None) -> int | None:
        row = self._one(
            "SELECT id FROM pieces WHERE guid = ? AND (source_id IS ? OR ? IS NULL) LIMIT 1",
            [guid, source_id, source_id],
        )
        return row["id"] if row else None

    def recent_fingerprints(self, limit: int = 5000) -> list[tuple[int, str]]:
        rows = self._all(
            "SELECT id, fingerprint FROM pieces WHERE fingerprint IS NOT NULL"
            " ORDER BY id DESC LIMIT ?",
            [limit],
        )
        return [(r["id"], r["fingerprint"]) for r in rows]

    def seen_keys(self, source_id: int, keys: list[str]) -> set[str]:
        seen: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._all(
                "SELECT entry_key FROM seen_entries WHERE source_id = ?"
                f" AND entry_key IN ({marks})",
                [source_id, *chunk],
            )
            seen.update(r["entry_key"] for r in rows)
        return seen

    def mark_seen_many(self, source_id: int, keys: list[str]) -> None:
        """Mark entries seen in one commit (a first poll's entries older than its backlog)."""
        with self.db.atomic():
            for key in keys:
                self._mark_seen(source_id, key, None)

    def _mark_seen(self, source_id: int, key: str, piece_id: int | None) -> None:
        self.db.execute(
            "INSERT INTO seen_entries (source_id, entry_key, piece_id, seen_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (source_id, entry_key) DO UPDATE SET piece_id ="
            " coalesce(excluded.piece_id, seen_entries.piece_id)",
            [source_id, key, piece_id, to_text(utcnow())],
        )

    # --- saving ---------------------------------------------------------------------------
    def save_piece(
        self, draft: PieceDraft, *, route: Router | None = None, duplicate_of: int | None = None
    ) -> SaveResult:
        """Store a piece once; write its deliveries in the same transaction.

        Known URL or GUID: the stored text is updated if it changed, never posted again.
        ``duplicate_of`` (a near-duplicate found by fingerprint): the URL is added to that
        piece as a syndicated copy.
        """
        with self.db.atomic():
            existing = self.piece_id_for_url(draft.url)
            for link in draft.links:
                existing = existing or self.piece_id_for_url(link)
            if existing is None and draft.guid:
                existing = self.piece_id_for_guid(draft.guid, draft.source_id)
            if existing is not None:
                result = self._update_existing(existing, draft)
                if draft.source_id is not None and self._adopt(existing, draft.source_id):
                    # First stored for a /summary, now published by a source: a new piece
                    # for everyone else, so every subscription that matches gets it.
                    if route is not None:
                        result.deliveries = self._fan_out(existing, route)
                elif route is not None and draft.source_id is not None:
                    # Met again in another source's feed: that source's followers get it too
                    # (the unique delivery row keeps chats that follow both at one post).
                    owner = self._one("SELECT source_id FROM pieces WHERE id = ?", [existing])
                    if owner and owner["source_id"] != draft.source_id:
                        result.deliveries = self._fan_out(
                            existing, route, only_source_id=draft.source_id
                        )
            elif duplicate_of is not None:
                self._add_links(duplicate_of, draft, syndicated=True)
                count = 0
                if draft.source_id is not None and self._adopt(duplicate_of, draft.source_id):
                    if route is not None:  # a /summary piece a source now publishes
                        count = self._fan_out(duplicate_of, route)
                elif route is not None and draft.source_id is not None:
                    count = self._fan_out(duplicate_of, route, only_source_id=draft.source_id)
                result = SaveResult(
                    duplicate_of, "duplicate", deliveries=count, duplicate_of=duplicate_of
                )
            else:
                piece_id = self._insert_piece(draft)
                count = self._fan_out(piece_id, route) if route is not None else 0
                result = SaveResult(piece_id, "new", deliveries=count)
            if draft.source_id is not None:
                for key in filter(None, [draft.entry_key, *draft.extra_keys]):
                    self._mark_seen(draft.source_id, key, result.piece_id)
        return result

    def _adopt(self, piece_id: int, source_id: int) -> bool:
        """A piece stored for a /summary becomes the source's own; False if it already was
        some source's piece."""
        cursor = self.db.execute(
            "UPDATE pieces SET on_demand = 0, source_id = ? WHERE id = ? AND on_demand = 1",
            [source_id, piece_id],
        )
        return cursor.rowcount > 0

    def add_piece_request(self, piece_id: int, chat_id: int) -> None:
        """This chat asked for the piece (/summary): it may see it in /latest and /search."""
        self.db.execute(
            "INSERT INTO piece_requests (chat_id, piece_id, requested_at) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id, piece_id) DO UPDATE SET requested_at = excluded.requested_at",
            [chat_id, piece_id, to_text(utcnow())],
        )

    def _fan_out(self, piece_id: int, route: Router, *, only_source_id: int | None = None) -> int:
        """Write the delivery rows ``route`` decides on (inside the caller's transaction).

        The candidates are every subscription that may pick the piece: its source's, its
        authors' (the name compared case-insensitively; routing has the last word) and every
        keyword one. ``only_source_id``: just that source's followers (a copy met in another
        source's feed reaches them; the unique row keeps chats that follow both at one post).
        Returns how many rows will be posted.
        """
        piece = self.get_piece(piece_id)
        if piece is None:
            return 0
        if only_source_id is not None:
            candidates = self._candidates("kind = 'source' AND source_id = ?", [only_source_id])
        else:
            marks = ",".join("?" * len(piece.authors)) or "NULL"
            candidates = self._candidates(
                "(kind = 'source' AND source_id = ?)"
                f" OR (kind = 'author' AND target COLLATE NOCASE IN ({marks})) OR kind = 'keyword'",
                [piece.source_id, *piece.authors],
            )
        routes = route(piece, candidates, seen_in=only_source_id)
        chats = {c.chat.id: c.chat for c in candidates}
        return self._write_routes(piece_id, routes, chats)

    def chat_candidates(self, chat_id: int) -> list[RouteCandidate]:
        return self._candidates("chat_id = ?", [chat_id])

    def _insert_piece(self, draft: PieceDraft) -> int:
        p = draft.piece
        now = to_text(utcnow())
        summary = draft.summary
        piece_id = self._insert(
            "INSERT INTO pieces (url, guid, fingerprint, source_id, title, standfirst, text,"
            " pull_quotes, author_bio, disclaimer, summary, summary_short, summary_long,"
            " summary_method, published, outlet, language, fetched_at, updated_at, on_demand)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                to_text(p.published),
                p.outlet,
                p.language,
                now,
                now,
                int(draft.on_demand and draft.source_id is None),
            ],
        )
        self._add_links(piece_id, draft, syndicated=False)
        for position, name in enumerate(_unique(p.authors)):
            author_id = self._author_id(name, p.author_bio if position == 0 else None)
            self.db.execute(
                "INSERT OR IGNORE INTO piece_authors (piece_id, author_id, position)"
                " VALUES (?, ?, ?)",
                [piece_id, author_id, position],
            )
        return piece_id

    def _update_existing(self, piece_id: int, draft: PieceDraft) -> SaveResult:
        self._add_links(piece_id, draft, syndicated=False)
        row = self._one("SELECT text, title, summary FROM pieces WHERE id = ?", [piece_id])
        p = draft.piece
        if row and p.text and (row["text"] != p.text or row["title"] != p.title):
            summary = draft.summary
            self.db.execute(
                "UPDATE pieces SET title = ?, standfirst = ?, text = ?, pull_quotes = ?,"
                " author_bio = coalesce(?, author_bio), summary = coalesce(?, summary),"
                " summary_short = coalesce(?, summary_short),"
                " summary_long = coalesce(?, summary_long),"
                " summary_method = coalesce(?, summary_method), fingerprint = coalesce(?,"
                " fingerprint), updated_at = ? WHERE id = ?",
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
                    to_text(utcnow()),
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

    def _add_links(self, piece_id: int, draft: PieceDraft, *, syndicated: bool) -> None:
        for url in _unique([draft.url, *draft.links]):
            self.db.execute(
                "INSERT OR IGNORE INTO piece_links (url, piece_id, outlet, source_id, syndicated)"
                " VALUES (?, ?, ?, ?, ?)",
                [url, piece_id, draft.piece.outlet, draft.source_id, int(syndicated)],
            )

    def _author_id(self, name: str, bio: str | None) -> int:
        row = self._one("SELECT id, bio FROM authors WHERE name = ? COLLATE NOCASE", [name])
        if row:
            if bio and not row["bio"]:
                self.db.execute("UPDATE authors SET bio = ? WHERE id = ?", [bio, row["id"]])
            return row["id"]
        return self._insert("INSERT INTO authors (name, bio) VALUES (?, ?)", [name, bio])

    # --- reading --------------------------------------------------------------------------
    def get_piece(self, piece_id: int) -> Piece | None:
        row = self._one("SELECT * FROM pieces WHERE id = ?", [piece_id])
        return self._hydrate([row])[0] if row else None

    def count_pieces(self) -> int:
        return self._count("SELECT count(*) AS n FROM pieces")

    def latest_pieces(
        self,
        limit: int = 3,
        *,
        source_id: int | None = None,
        author: str | None = None,
        keyword: str | None = None,
        chat_id: int | None = None,
    ) -> list[Piece]:
        """Newest first (by published time, else fetch time); as ``chat_id`` sees them
        (pieces other chats asked for with /summary left out), or all of them."""
        if keyword:
            found = self.search(keyword, limit=limit, newest_first=True, chat_id=chat_id)
            return [p for p, _ in found]
        where: list[str] = []
        params: list[Any] = []
        if chat_id is not None:
            where.append(f"p.id NOT IN ({HIDDEN_FROM_CHAT})")
            params.append(chat_id)
        if source_id is not None:
            where.append("p.source_id = ?")
            params.append(source_id)
        if author:
            where.append(
                "p.id IN (SELECT pa.piece_id FROM piece_authors pa JOIN authors a"
                " ON a.id = pa.author_id WHERE a.name = ? COLLATE NOCASE)"
            )
            params.append(author)
        sql = "SELECT p.* FROM pieces p"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY coalesce(p.published, p.fetched_at) DESC, p.id DESC LIMIT ?"
        return self._hydrate(self._all(sql, [*params, limit]))

    def search(
        self,
        query: str,
        *,
        limit: int = 5,
        newest_first: bool = False,
        budget: float | None = None,
        chat_id: int | None = None,
    ) -> list[tuple[Piece, str]]:
        """FTS5 search ranked by bm25 (title weighted); returns (piece, snippet) pairs.

        Bounded (storage.search): a query too broad or too slow raises SearchTooBroad.
        Ranking covers the newest ``RANK_WINDOW`` matches: "the most relevant of the recent
        pieces that mention it", which keeps the cost flat as the archive grows.
        ``newest_first`` walks the index from the newest stored piece and stops after ``limit``.
        """
        found = search_ids(
            self.db.conn,
            query,
            limit=limit,
            newest_first=newest_first,
            budget=budget,
            chat_id=chat_id,
        )
        if not found:
            return []
        ids = [piece_id for piece_id, _ in found]
        marks = ",".join("?" * len(ids))
        by_id = {r["id"]: r for r in self._all(f"SELECT * FROM pieces WHERE id IN ({marks})", ids)}
        rows = [by_id[i] for i in ids if i in by_id]
        if newest_first:
            rows.sort(key=lambda r: (r["published"] or r["fetched_at"], r["id"]), reverse=True)
        snippets = dict(found)
        return [(piece, snippets.get(piece.id, "")) for piece in self._hydrate(rows)]

    def similar_pieces(
        self, piece_id: int, terms: list[str], limit: int = 3, *, chat_id: int | None = None
    ) -> list[Piece]:
        """Pieces sharing the most of ``terms`` (caller picks distinctive words), not itself;
        as ``chat_id`` sees them (see ``latest_pieces``)."""
        words = [(fold_for_search(t) or "").replace('"', "") for t in terms if t.strip()]
        if not words:
            return []
        query = " OR ".join(f'"{w}"' for w in words)
        hidden = f" AND p.id NOT IN ({HIDDEN_FROM_CHAT})" if chat_id is not None else ""
        rows = self._all(
            "SELECT p.* FROM pieces_fts JOIN pieces p ON p.id = pieces_fts.rowid"
            f" WHERE pieces_fts MATCH ? AND p.id != ?{hidden}"
            " ORDER BY bm25(pieces_fts, 5.0, 2.0, 1.0) LIMIT ?",
            [query, piece_id, *([chat_id] if chat_id is not None else []), limit],
        )
        return self._hydrate(rows)

    def find_authors(
        self, prefix: str = "", limit: int = 25, *, chat_id: int | None = None
    ) -> list[tuple[str, int]]:
        """Known authors starting with ``prefix`` (any word of the name), with piece counts;
        with ``chat_id``, only writers of pieces that chat may see (see ``latest_pieces``)."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        hidden = f" AND pa.piece_id NOT IN ({HIDDEN_FROM_CHAT})" if chat_id is not None else ""
        seen = " HAVING n > 0" if chat_id is not None else ""
        rows = self._all(
            "SELECT a.name, count(pa.piece_id) AS n FROM authors a"
            f" LEFT JOIN piece_authors pa ON pa.author_id = a.id{hidden}"
            " WHERE a.name LIKE ? ESCAPE '\\' OR a.name LIKE ? ESCAPE '\\'"
            f" GROUP BY a.id{seen} ORDER BY n DESC, a.name COLLATE NOCASE LIMIT ?",
            [
                *([chat_id] if chat_id is not None else []),
                escaped + "%",
                "% " + escaped + "%",
                limit,
            ],
        )
        return [(r["name"], r["n"]) for r in rows]

    def get_author(self, name: str) -> tuple[str, str | None] | None:
        row = self._one("SELECT name, bio FROM authors WHERE name = ? COLLATE NOCASE", [name])
        return (row["name"], row["bio"]) if row else None

    def _hydrate(self, rows: list[dict[str, Any]]) -> list[Piece]:
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        authors: dict[int, list[str]] = {i: [] for i in ids}
        for r in self._all(
            f"SELECT pa.piece_id, a.name FROM piece_authors pa JOIN authors a"
            f" ON a.id = pa.author_id WHERE pa.piece_id IN ({marks}) ORDER BY pa.position",
            ids,
        ):
            authors[r["piece_id"]].append(r["name"])
        also: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
        for r in self._all(
            f"SELECT piece_id, outlet, url FROM piece_links WHERE syndicated = 1"
            f" AND piece_id IN ({marks}) ORDER BY rowid",
            ids,
        ):
            also[r["piece_id"]].append((r["outlet"] or "", r["url"]))
        return [piece_from_row(r, authors[r["id"]], also[r["id"]]) for r in rows]


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.strip().casefold()
        if item and item.strip() and key not in seen:
            seen.add(key)
            out.append(item.strip())
    return out
