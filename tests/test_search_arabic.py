"""An Arabic piece: whole sentences in its summary, found by /search with or without diacritics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from bot.core import Core
from bot.pipeline import extract_text
from bot.pipeline.summarize import summarize
from storage.db import integrity_check, open_database
from storage.folding import fold_for_search
from storage.postgres import schema as pg_schema
from storage.schema import migrations
from tests.factories import add_piece, open_core
from tests.handler_support import say

# Written for this test: a short column, some words with their short vowels and a tatweel.
ARABIC_COLUMN = """المدينة تحتاج إلى مكتبات لا إلى مواقف سيارات

كُلُّ صباحٍ يقف الطلاب أمام باب المكتبة المغلقة؛ فالبلدية قررت أن تقلص ساعات العمل: لا مال \
كافياً، كما تقول. لكن المال موجود لبناء موقف سيارات جديد في وسط المدينة.

المكتبة ليست ترفاً، بل هي المكان الوحيد الذي يدرس فيه كثير من الطلاب، ويقرأ فيه المتقاعدون \
الصحف، ويجد فيه العاطلون عن العمل حاسوباً للبحث عن وظيفة.

لذلك أرى أن على البلديـــة أن تعيد ساعات العمل كاملة قبل أن تنفق أي مال على المواقف. وعلى \
السكان أن يطالبوا بذلك في الجلسة العامة المقبلة.
"""


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    async with open_core(tmp_path) as opened:
        yield opened


def test_fold_removes_marks_and_tatweel_only() -> None:
    assert fold_for_search("كُلُّ صباحٍ") == "كل صباح"
    assert fold_for_search("البلديـــة") == "البلدية"
    assert fold_for_search("Café déjà vu") == "Café déjà vu"  # Latin text untouched
    assert fold_for_search(None) is None


async def test_arabic_piece_whole_sentences_and_search_both_ways(core: Core) -> None:
    piece = extract_text(ARABIC_COLUMN)
    assert piece.language == "ar"
    summary = summarize(piece, "standard")
    for sentence in summary.sentences:
        assert sentence in piece.text
        assert sentence.endswith((".", "؟", "!"))  # whole sentences, never a clause
    assert any("أن تعيد ساعات العمل" in s for s in summary.sentences)  # the proposal
    await add_piece(core, title=piece.title, text=piece.text, language="ar", summary=summary.text)
    for query in ("كل صباح", "كُلُّ صَباحٍ", "البلدية", "البلديـــة", "تَرَفاً"):
        answer = await say(core, "search", query)
        assert not answer.is_error, query
        assert "مكتبات" in answer.plain_text(), query  # the piece's title


def test_existing_index_is_folded_by_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = open_database(path, migrate=False)
    migrations.apply(db, stop_before="m006_search_folds_arabic_marks")
    db.execute(
        "INSERT INTO pieces (url, title, text, fetched_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        [
            "https://example.com/a",
            "عنوان",
            "كُلُّ صباحٍ مكتبة",
            "2026-01-01T00:00:00+00:00",
            "2026-01-01T00:00:00+00:00",
        ],
    )
    db.conn.commit()
    migrations.apply(db)
    found = db.execute("SELECT rowid FROM pieces_fts WHERE pieces_fts MATCH ?", ["كل"]).fetchall()
    assert found == [(1,)]
    db.execute("DELETE FROM pieces")  # the delete trigger removes exactly what was indexed
    assert db.execute("SELECT count(*) FROM pieces_fts WHERE pieces_fts MATCH 'كل'").fetchone() == (
        0,
    )
    assert integrity_check(db) == "ok"


def test_postgres_migration_refolds_pieces_indexed_before_it(
    postgres_server: None, postgresql: psycopg.Connection
) -> None:
    # A database migrated before m003: commentary_fold knew only the harakat and tatweel, so a
    # piece with a Quranic sign was indexed with it. The migration refolds that piece.
    conn = postgresql
    conn.execute(
        "CREATE OR REPLACE FUNCTION commentary_fold(value text) RETURNS text"
        " LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT"
        " RETURN regexp_replace(value, '[\\u064B-\\u065F\\u0670\\u0640]', '', 'g')"
    )
    conn.execute(
        "INSERT INTO pieces (url, title, text, fetched_at, updated_at)"
        " VALUES ('https://example.com/q', 'عنوان', %s, now(), now())",
        ["القرآن\u06d6 كريم"],
    )
    found = "SELECT count(*) FROM pieces WHERE search @@ plainto_tsquery('english', 'القرآن')"
    assert conn.execute(found).fetchone() == (0,)
    conn.execute("DELETE FROM schema_migrations WHERE name = 'm003_fold_all_arabic_marks'")
    conn.commit()
    assert pg_schema.apply(conn) == ["m003_fold_all_arabic_marks"]
    assert conn.execute(found).fetchone() == (1,)
