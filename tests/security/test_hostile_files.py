"""Hostile plan files and import files: a clear 4xx (InvalidInputError), never a 5xx, and a
.docx that expands to hundreds of MB is refused before it is read whole."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
import zlib

import pytest

from api.uploads import MAX_DOCX_UNPACKED_BYTES, extract_text
from recommender.errors import InvalidInputError
from tests.api.conftest import Env
from tests.api.test_uploads import docx_bytes, pdf_bytes

PERSIAN = "ما یک سامانهٔ پرداخت برای فروشگاه‌های کوچک ساخته‌ایم."


def test_txt_with_utf16_bom_and_invalid_sequences():
    data = b"\xff\xfe" + b"\x00\xd8\x41\x00" * 8  # a lone high surrogate, then 'A'
    with pytest.raises(InvalidInputError, match="UTF-16"):
        extract_text("plan.txt", data)


def _flate_bomb_pdf(expanded_bytes: int) -> bytes:
    """A one-page PDF whose content stream inflates to `expanded_bytes` of spaces."""
    packer = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    stream = b"".join(packer.compress(chunk) for _ in range(expanded_bytes // len(chunk)))
    stream += packer.flush()
    good = pdf_bytes("hello")
    head, _, rest = good.partition(b"4 0 obj\n")
    body_end = rest.index(b"\nendobj\n")
    bomb = (
        b"<< /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n"
        + stream + b"\nendstream"
    )
    # Offsets in the xref no longer match; pypdf rebuilds them (as for many real files).
    return head + b"4 0 obj\n" + bomb + rest[body_end:]


def test_pdf_stream_past_pypdf_limits_is_a_plain_error():
    with pytest.raises(InvalidInputError, match="PDF"):
        extract_text("plan.pdf", _flate_bomb_pdf(100 * 1024 * 1024))


def _docx_bomb(expanded_bytes: int) -> bytes:
    """A real .docx whose word/document.xml is replaced by `expanded_bytes` of paragraphs."""
    good = zipfile.ZipFile(io.BytesIO(docx_bytes([PERSIAN])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for info in good.infolist():
            if info.filename != "word/document.xml":
                bomb.writestr(info, good.read(info))
                continue
            xml = good.read(info).decode("utf-8")
            head, tail = xml.split("<w:body>")
            paragraph = ("<w:p><w:r><w:t>" + "a" * 4000 + "</w:t></w:r></w:p>").encode()
            with bomb.open("word/document.xml", "w", force_zip64=True) as member:
                member.write((head + "<w:body>").encode())
                for _ in range(expanded_bytes // len(paragraph)):
                    member.write(paragraph)
                member.write(tail.encode())
    return out.getvalue()


def test_docx_bomb_is_refused_without_reading_it_whole():
    data = _docx_bomb(2 * MAX_DOCX_UNPACKED_BYTES)
    assert len(data) < 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInputError, match="docx"):
            extract_text("plan.docx", data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, peak


def test_ordinary_docx_still_reads():
    assert extract_text("plan.docx", docx_bytes([PERSIAN])) == PERSIAN


def test_deeply_nested_json_import_is_422(sqlite_env: Env):
    staff = sqlite_env.auth("staff")
    nested = b"[" * 200_000 + b"]" * 200_000
    response = sqlite_env.client.post(
        "/v1/imports/programs", files={"file": ("programs.json", nested)}, headers=staff
    )
    assert response.status_code == 422, response.text
    assert "nested" in response.json()["detail"]


def test_deeply_nested_list_cell_is_a_row_error(sqlite_env: Env):
    staff = sqlite_env.auth("staff")
    header = "id,name,kind,description,province,sectors\n"
    row = "p-1,برنامه,accelerator,توضیح,تهران," + "[" * 50_000 + "\n"
    response = sqlite_env.client.post(
        "/v1/imports/programs", files={"file": ("p.csv", (header + row).encode())},
        headers=staff,
    )
    assert response.status_code == 422, response.text
    assert {(e["row"], e["field"]) for e in response.json()["errors"]} == {(2, "sectors")}
    assert json.dumps(response.json()).count("[[[") == 0  # the cell is not echoed
