"""Plan files: text out of .txt, .docx and .pdf; plain errors for everything else."""

from __future__ import annotations

import io

import pytest

from api.uploads import extract_text
from recommender.constants import MAX_PLAN_CHARS
from recommender.errors import InvalidInputError

PERSIAN = "ما یک سامانهٔ پرداخت برای فروشگاه‌های کوچک ساخته‌ایم."


def docx_bytes(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    from docx import Document

    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf_bytes(text: str) -> bytes:
    """A one-page PDF showing `text` (Latin) in Helvetica, written by hand."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def test_txt_in_utf8_with_bom_and_in_windows_1256():
    assert extract_text("plan.txt", ("\ufeff" + PERSIAN).encode("utf-8")) == PERSIAN
    old_windows = "سامانه پرداخت فروشگاه"  # letters Windows-1256 has
    assert extract_text("PLAN.TXT", old_windows.encode("cp1256")) == old_windows
    assert extract_text("p.txt", PERSIAN.encode("utf-16")) == PERSIAN


def test_docx_paragraphs_and_tables():
    data = docx_bytes([PERSIAN, "تیم ما چهار نفر است."], table=[["درآمد", "۱۰۰"]])
    text = extract_text("plan.docx", data)
    assert text.splitlines()[:2] == [PERSIAN, "تیم ما چهار نفر است."]
    assert "درآمد | ۱۰۰" in text


def test_pdf_text():
    assert extract_text("plan.pdf", pdf_bytes("Payments for small shops")) == (
        "Payments for small shops"
    )


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("plan.odt", b"x", "unsupported plan file type '.odt'"),
        ("plan", b"x", "unsupported plan file type 'none'"),
        ("plan.txt", b"   \n ", "no text could be read"),
        ("plan.docx", b"not a zip", "cannot be opened"),
        ("plan.pdf", b"%PDF-1.4 garbage", "cannot be read"),
        ("plan.txt", ("a" * (MAX_PLAN_CHARS + 1)).encode(), "at most 50000"),
    ],
)
def test_bad_files_give_plain_errors(name: str, data: bytes, message: str):
    with pytest.raises(InvalidInputError, match=message):
        extract_text(name, data)
