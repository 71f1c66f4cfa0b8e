"""Event files: every problem of an import named by row and field in Persian, the participant
list as CSV/XLSX, suggestions with the real `Embedder` on the fake runtime, and RFC 5545
escaping and folding of the agendas."""

from __future__ import annotations

import pytest

from recommender.errors import EventImportError
from recommender.events.calendar import escape_text, fold
from recommender.events.participant_files import read_participants, write_participants
from recommender.events.suggest import suggest_meetings
from recommender.events.validation import parse_event_payload
from tests.recommender._embedding_fakes import register_fake_model

from ._event_fixtures import payload


def _problems(data) -> str:
    with pytest.raises(EventImportError) as caught:
        parse_event_payload(data, source="e.json")
    return str(caught.value)


def test_every_problem_is_listed_by_row_and_field():
    data = payload()
    data["participants"][0]["requests"] = ["pay"]  # oneself
    data["participants"][1]["id"] = "pay"  # a duplicate
    data["participants"][2]["kind"] = "robot"
    data["participants"][3]["availability"] = "s1;nowhere"
    message = _problems(data)
    lines = message.splitlines()
    assert lines[0] == "e.json: ۴ مشکل پیدا شد؛ چیزی وارد نشد"
    assert "ردیف ۱، فیلد «requests»: کسی نمی‌تواند دیدار با خودش را درخواست کند" in lines
    assert any(line.startswith("ردیف ۲، فیلد «id»: شناسهٔ «pay» تکراری است") for line in lines)
    assert any(line.startswith("ردیف ۳، فیلد «kind»: نوع «robot» شناخته نیست") for line in lines)
    assert "ردیف ۴، فیلد «availability»: بازهٔ «nowhere» در این رویداد نیست" in lines


def test_event_problems_are_never_skipped():
    data = payload()
    data["event"]["slots"][1]["start"] = "09:10"  # overlaps s1 (09:00-09:20)
    with pytest.raises(EventImportError, match="«s1» و «s2» هم‌پوشانی دارند"):
        parse_event_payload(data, skip_invalid=True)
    data = payload()
    data["event"]["slots"][0]["end"] = "9h"
    assert "ساعت باید به شکل" in _problems(data)


def test_links_must_name_stored_records():
    data = payload()
    data["participants"][0]["application_id"] = "app-1"
    data["participants"][5]["program_id"] = "prog-x"
    with pytest.raises(EventImportError) as caught:
        parse_event_payload(data, known_applications={"app-1"}, known_programs=set())
    assert "«prog-x» ثبت نشده" in str(caught.value) and "app-1" not in str(caught.value)


def test_bidi_controls_are_removed_from_names():
    data = payload()
    data["participants"][0]["name"] = "\u202eexe.jpg"
    parsed, _ = parse_event_payload(data)
    assert parsed.participants[0].name == "exe.jpg"


@pytest.mark.parametrize("ext", [".csv", ".xlsx"])
def test_participant_tables_round_trip_and_report_spreadsheet_rows(tmp_path, ext):
    data, _ = parse_event_payload(payload())
    path = tmp_path / f"people{ext}"
    write_participants(path, data.participants)
    back = read_participants(path, data.event)
    assert back.errors == [] and tuple(back.items) == data.participants
    assert back.rows == [2, 3, 4, 5, 6, 7]  # the header is row 1
    bad = list(data.participants)
    bad[1] = bad[1].model_copy(update={"availability": ["s7"]})
    write_participants(path, bad)
    checked = read_participants(path, data.event)
    assert [(e.row, e.field) for e in checked.errors] == [(3, "availability")]


def test_suggestions_use_the_embedder_and_give_persian_reasons(tmp_path, monkeypatch):
    from recommender.embedding.encoder import Embedder

    model = register_fake_model(tmp_path, monkeypatch)
    embedder = Embedder(model=model, models_dir=tmp_path).fit()
    data, _ = parse_event_payload(payload())
    table, suggestions = suggest_meetings(data, embedder, per_startup=1)
    best = {s.startup_id: s for s in suggestions}
    assert best["pay"].partner_id == "vc"
    assert best["farm"].partner_id == "mentor1"
    assert any("حوزهٔ" in r for r in best["pay"].reasons)
    assert 0 <= table.score("pay", "vc") <= 1 and table.score("pay", "ghost") == 0


def test_ics_text_is_escaped_and_folded_without_splitting_characters():
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "SUMMARY:" + "دیدار با صندوق نوآوری " * 6
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line
