"""Text of an uploaded business plan: .txt, .docx (python-docx) or .pdf (pypdf).

Errors say what is wrong with the file in plain words and never quote its content.
"""

from __future__ import annotations

import io
from pathlib import Path

from recommender.constants import MAX_PLAN_CHARS
from recommender.errors import InvalidInputError

PLAN_SUFFIXES = (".txt", ".docx", ".pdf")
MAX_PLAN_FILE_BYTES = 10 * 1024 * 1024


def extract_text(filename: str, data: bytes) -> str:
    """The plain text of a plan file.

    Args:
        filename: the uploaded name (its extension picks the reader).
        data: the file's bytes.

    Raises:
        InvalidInputError: unknown type, unreadable file, no text, or text over
            MAX_PLAN_CHARS characters.
    """
    suffix = Path(filename or "").suffix.lower()
    if suffix not in PLAN_SUFFIXES:
        raise InvalidInputError(
            f"unsupported plan file type '{suffix or 'none'}'; use .txt, .docx or .pdf"
        )
    if len(data) > MAX_PLAN_FILE_BYTES:
        raise InvalidInputError(f"the plan file is larger than {MAX_PLAN_FILE_BYTES} bytes")
    if suffix == ".txt":
        text = _decode(data)
    elif suffix == ".docx":
        text = _docx_text(data)
    else:
        text = _pdf_text(data)
    text = text.replace("\r\n", "\n").replace("\x00", "").strip()
    if not text:
        raise InvalidInputError("no text could be read from the plan file")
    if len(text) > MAX_PLAN_CHARS:
        raise InvalidInputError(
            f"the plan has {len(text)} characters; at most {MAX_PLAN_CHARS} are accepted"
        )
    return text


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1256")  # older Persian Windows files
    except UnicodeDecodeError:
        raise InvalidInputError("the text file is not UTF-8 (save it as UTF-8)") from None


def _docx_text(data: bytes) -> str:
    from docx import Document

    try:
        document = Document(io.BytesIO(data))
    except Exception:
        raise InvalidInputError("the .docx file cannot be opened (is it a Word file?)") from None
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InvalidInputError("the PDF is password-protected")
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except InvalidInputError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError):
        raise InvalidInputError("the PDF file cannot be read") from None
