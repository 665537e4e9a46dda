"""Opinion summaries carry the writer's thesis: proposal first, standfirst never repeated.

The seed column (read in place from the shared corpus when it is there, never copied) must give
its ceasefire proposal in every layout and length; project-written pieces check the rest.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.pipeline import extract_html, extract_text
from bot.pipeline.summarize import candidate_sentences, summarize

CORPUS = Path(os.environ.get("COMMENTARY_CORPUS", Path(__file__).parents[2] / "shared" / "corpus"))
SEED = CORPUS / "seed"


def _seed_layouts():
    if not (SEED / "kerry-moscow-visit.txt").exists():
        pytest.skip(f"seed column not found under {SEED} (set COMMENTARY_CORPUS)")
    text = (SEED / "kerry-moscow-visit.txt").read_text(encoding="utf-8")
    page = (SEED / "kerry-moscow-visit.html").read_bytes()
    return {
        "copied text": extract_text(text),
        "page": extract_html(page),
        "page at a slug URL": extract_html(page, url="https://news.example/p/kerry-moscow"),
        "page, no URL, no standfirst": _without_standfirst(extract_html(page)),
    }


def _without_standfirst(piece):
    piece.standfirst = None
    return piece


@pytest.mark.parametrize("length", ["short", "standard", "long"])
def test_seed_column_summary_has_the_ceasefire_proposal(length):
    for layout, piece in _seed_layouts().items():
        summary = summarize(piece, length)
        assert any("ceasefire should be imposed" in s for s in summary.sentences), layout
        for sentence in summary.sentences:
            assert sentence in piece.text, layout  # verbatim
        if piece.standfirst:
            assert piece.standfirst[:60] not in summary.text, layout


ANECDOTE_COLUMN = """The bus that never came

Last Tuesday I waited forty minutes at the stop outside the hospital, in the rain, with a \
woman who had an appointment at nine. She missed it. The timetable on the pole still promised \
a bus every ten minutes.

The region cut the route's budget by a third in two years. Drivers left for better-paid jobs, \
and the company now cancels one trip in five without telling anyone.

Cheaper fares will not fix a service that does not run. The money spent on the new ticket app \
would have paid for twelve drivers for a year.

The region should restore the route's budget and publish every cancellation on the day it \
happens. Riders can forgive a late bus; they cannot plan around a secret one.
"""


def test_standfirst_less_piece_gets_a_thesis_line_not_the_anecdote():
    piece = extract_text(ANECDOTE_COLUMN)
    assert not piece.standfirst
    short = summarize(piece, "short")
    assert short.sentences == [
        "The region should restore the route's budget and publish every cancellation on the "
        "day it happens."
    ]
    standard = summarize(piece, "standard")
    assert short.sentences[0] in standard.sentences
    positions = [piece.text.index(s) for s in standard.sentences]
    assert positions == sorted(positions)  # reading order


def test_standfirst_is_not_repeated():
    body = ANECDOTE_COLUMN.split("\n", 2)[2]
    repeated = "The region cut the route's budget by a third in two years."
    piece = extract_text(ANECDOTE_COLUMN)
    assert any(repeated in s for s in summarize(piece, "long").sentences)  # without standfirst
    piece.standfirst = "The region cut the route's budget by a third in two years, writes a rider"
    for length in ("standard", "long"):
        assert not any(repeated in s for s in summarize(piece, length).sentences)
    assert body  # the body itself is unchanged


def test_captions_and_table_rows_are_never_summary_material():
    piece = extract_text(ANECDOTE_COLUMN)
    piece.text += (
        "\n\nPhoto: Riders wait at the hospital stop in the rain, as they do most mornings here."
        "\n\nRoute 12\t2019\t2024\tchange in the share of trips that ran on time this year."
        "\n\n| Route | Trips cancelled | Drivers | per cent of all trips run by the company |"
    )
    texts = [s.text for s in candidate_sentences(piece)]
    assert not any(t.startswith(("Photo", "Route 12", "|")) for t in texts)


def test_a_quotations_signature_line_is_not_a_sentence_of_the_summary():
    # An editor's note closed by a dash and a name, run into the next paragraph by no full stop.
    piece = extract_text(
        "Our picks of the season\n\n"
        "Every December the review looks back at the year in galleries across the country.\n\n"
        "These shows did not follow a fashion. They trusted the work and the slow attention "
        "of visitors who came back twice. — Mara Ilves, Arts Editor of the Review\n\n"
        "We asked four reviewers to name the exhibitions they would send a friend to first.\n\n"
        "The first choice was a retrospective that drew queues round the block every weekend."
    )
    texts = [s.text for s in candidate_sentences(piece)]
    assert not any("Mara Ilves" in t for t in texts), texts
    assert "Mara Ilves" not in summarize(piece, "long").text


def test_list_items_are_summary_sentences_without_their_markers():
    piece = extract_text(
        "What a relocation firm does\n\n"
        "Companies that move staff abroad face more than a van and a few boxes.\n\n"
        "- Removal firms carry furniture and boxes from one address to the next one.\n"
        "- Relocation firms handle visas, payroll, schools and the first months abroad.\n"
        "- Both should be asked for written quotes before anything is signed.\n\n"
        "Choosing well early saves the company and the employee months of trouble later."
    )
    texts = [s.text for s in candidate_sentences(piece)]
    assert "Relocation firms handle visas, payroll, schools and the first months abroad." in texts
    assert not any(t.startswith(("-", "•")) for t in texts)
    summary = summarize(piece, "long")
    assert " - " not in summary.text and all(s in piece.text for s in summary.sentences)


def test_news_stays_lede_led():
    piece = extract_text(
        "Council approves new bus budget\n\n"
        "The regional council on Monday approved a budget that restores twelve driver posts on "
        "the hospital route, officials said. The vote was 31 to 9.\n\n"
        "The transport director said the posts would be filled by March. Opposition members "
        "said the region should have acted two years ago.\n\n"
        "The new timetable is due in April, according to the company."
    )
    standard = summarize(piece, "standard")
    assert standard.sentences[0].startswith("The regional council on Monday approved")


# A column in German that opens on a scene and states its proposal in German modal verbs.
GERMAN_COLUMN = """\
Die Buslinie 12 und das Schweigen der Region

Um sechs Uhr morgens stand Frau Keller wieder an der Haltestelle vor dem Krankenhaus. Der Bus \
kam nicht, und die Anzeige blieb leer. Sie ging die vier Kilometer zu Fuß, wie schon dreimal \
in diesem Monat.

Die Region hat das Budget der Linie in zwei Jahren um ein Drittel gekürzt. Seitdem fällt jede \
fünfte Fahrt aus, und niemand erfährt es vorher. Wer dort arbeitet, braucht keinen Fahrplan, \
sondern Glück.

Wir brauchen keine neue Studie über den Nahverkehr im Landkreis, die wieder zwei Jahre dauert.

Die Region muss das Budget der Linie wiederherstellen und jeden Ausfall noch am selben Tag \
veröffentlichen. Fahrgäste verzeihen einen verspäteten Bus; mit einem geheimen Ausfall können \
sie nicht planen. Hoffen wir, dass der Kreistag das im März begreift.
"""


def test_a_german_column_gets_its_proposal():
    piece = extract_text(GERMAN_COLUMN)
    piece.language = "de"
    short = summarize(piece, "short")
    assert short.sentences[0].startswith("Die Region muss das Budget der Linie wiederherstellen")
    standard = summarize(piece, "standard")
    assert short.sentences[0] in standard.sentences
    assert not standard.sentences[0].startswith("Um sechs Uhr")  # not the opening scene first


def test_a_quoted_official_is_not_the_writers_thesis():
    # German quotation marks („…“) and reported speech ("sagte"): the official's "must" is
    # someone else's claim; the writer's own proposal is the thesis.
    piece = extract_text(
        "Der Hafen braucht keinen zweiten Tunnel\n\n"
        "„Wir müssen jetzt den zweiten Tunnel bauen, sonst verlieren wir den Anschluss“, sagte "
        "der Verkehrsminister am Montag vor Journalisten im Rathaus der Stadt.\n\n"
        "Der erste Tunnel ist an vier von fünf Tagen nur zur Hälfte ausgelastet. Die Zahlen der "
        "Hafenverwaltung zeigen seit zehn Jahren keinen Anstieg des Verkehrs.\n\n"
        "Die Stadt sollte das Geld in die Güterbahn stecken, die heute jeden Morgen im Stau der "
        "Lastwagen steht. Ein zweiter Tunnel löst kein Problem, das es gibt."
    )
    piece.language = "de"
    short = summarize(piece, "short")
    assert short.sentences[0].startswith("Die Stadt sollte das Geld in die Güterbahn stecken")


# An opening that names the subject, not a scene (no word of the headline, no cue, but the
# words the piece goes on about): it says what the piece is about, and keeps its place beside
# the proposal. Opening on a scene instead, with the writer's position stated further on, the
# column leads with the argument.
SUBJECT_OPENING_COLUMN = """\
A false economy

The county plans to close four of its nine branch libraries next year to save money. The \
county should keep all nine branches open.

Branch libraries lend books, but they also host homework clubs, job searches and tax help. \
Visits to the branches rose by a tenth last year, the county's own figures show.

Closing them moves those visits to the central library, which already turns people away at \
lunchtime. The savings are smaller than the plan admits: the branches cost less than the county \
spends on consultants.

A consultant's report on the central library is due in the spring. Councillors should also ask \
for the branch figures before they vote.
"""
OPENING = "The county plans to close four of its nine branch libraries next year to save money."
PROPOSAL = "The county should keep all nine branches open."


def test_an_opening_that_names_the_subject_keeps_its_place():
    piece = extract_text(SUBJECT_OPENING_COLUMN)
    assert summarize(piece, "short").sentences == [PROPOSAL]
    assert summarize(piece, "standard").sentences[:2] == [OPENING, PROPOSAL]
    scene = "At eight on Saturday morning a man in a red coat waited at the door with his dog."
    column = SUBJECT_OPENING_COLUMN.replace(OPENING, f"{scene} {OPENING}", 1).replace(
        "Closing them moves", "I believe the county has its sums wrong. Closing them moves", 1
    )
    standard = summarize(extract_text(column), "standard").sentences
    assert scene not in standard and PROPOSAL in standard
