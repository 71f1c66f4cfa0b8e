"""Text of an uploaded business plan: .txt, .docx (python-docx) or .pdf (pypdf).

Errors say what is wrong with the file in plain words (Persian, then English) and never quote
its content. Hostile files are refused with `InvalidInputError` (a 4xx), never a 5xx:

* a .docx is a ZIP: its members are decompressed in chunks and counted before python-docx sees
  them, so a small file that expands to hundreds of MB stops at `MAX_DOCX_UNPACKED_BYTES`;
* a .pdf is read page by page and stops as soon as the text is over the character limit;
  pypdf's own limits (`LimitReachedError`) and any parser failure become "cannot be read".
"""

from __future__ import annotations

import io
from pathlib import Path

from recommender.constants import MAX_PLAN_CHARS
from recommender.errors import InvalidInputError

PLAN_SUFFIXES = (".txt", ".docx", ".pdf")
MAX_PLAN_FILE_BYTES = 10 * 1024 * 1024
# What a .docx may expand to (all its ZIP members together). A plan of MAX_PLAN_CHARS in a
# heavily formatted Word file is a few MB of XML; images are stored already compressed.
MAX_DOCX_UNPACKED_BYTES = 32 * 1024 * 1024
_CHUNK = 1024 * 1024


def _too_long(n_chars: int) -> InvalidInputError:
    return InvalidInputError(
        f"متن طرح بیش از {MAX_PLAN_CHARS} نویسه است / the plan has {n_chars} characters; "
        f"at most {MAX_PLAN_CHARS} are accepted"
    )


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\x00", "").strip()


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
    text = _clean(text)
    if not text:
        raise InvalidInputError("no text could be read from the plan file")
    if len(text) > MAX_PLAN_CHARS:
        raise _too_long(len(text))
    return text


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InvalidInputError(
                "فایل متنی خراب است یا کدگذاری آن UTF-16 درست نیست؛ آن را با UTF-8 ذخیره کنید"
                " / the text file starts as UTF-16 but is not valid UTF-16 (save it as UTF-8)"
            ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1256")  # older Persian Windows files
    except UnicodeDecodeError:
        raise InvalidInputError("the text file is not UTF-8 (save it as UTF-8)") from None


def _check_docx_archive(data: bytes) -> None:
    """Decompress every member in chunks (nothing kept) and refuse the file past
    MAX_DOCX_UNPACKED_BYTES, before python-docx reads the members whole."""
    import zipfile
    import zlib

    unreadable = InvalidInputError(
        "فایل .docx باز نمی‌شود (آیا فایل Word است؟) / the .docx file cannot be opened"
        " (is it a Word file?)"
    )
    total = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if total + info.file_size > MAX_DOCX_UNPACKED_BYTES:
                    break  # declared too large: refused below without reading
                with archive.open(info) as member:
                    while chunk := member.read(_CHUNK):
                        total += len(chunk)
                        if total > MAX_DOCX_UNPACKED_BYTES:
                            break
                if total > MAX_DOCX_UNPACKED_BYTES:
                    break
            else:
                return
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError,
            NotImplementedError):
        raise unreadable from None
    raise InvalidInputError(
        f"فایل .docx پس از باز شدن بیش از {MAX_DOCX_UNPACKED_BYTES // (1024 * 1024)} مگابایت"
        f" است / the .docx file expands to more than {MAX_DOCX_UNPACKED_BYTES} bytes;"
        " save the plan as a plain Word file or as .txt"
    )


def _docx_text(data: bytes) -> str:
    from docx import Document

    _check_docx_archive(data)
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
    from pypdf.errors import PdfReadError, PyPdfError

    parts: list[str] = []
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InvalidInputError("the PDF is password-protected")
        chars = 0
        for page in reader.pages:
            part = page.extract_text() or ""
            parts.append(part)
            chars += len(_clean(part))
            if chars > MAX_PLAN_CHARS:
                raise _too_long(chars)  # the rest of the pages is never decompressed
        return "\n".join(parts)
    except InvalidInputError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError,
            MemoryError, AssertionError, AttributeError, IndexError, ZeroDivisionError):
        # Malformed or hostile PDFs (streams past pypdf's limits included) fail in many ways.
        raise InvalidInputError(
            "فایل PDF خوانده نمی‌شود / the PDF file cannot be read"
        ) from None
