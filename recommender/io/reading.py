"""Read the data contracts (programs, applications, rounds, outcomes) from JSON, CSV or
XLSX, chosen by the file extension (`recommender.io.writing` writes the same forms).

* JSON: a list of objects; list fields are JSON lists.
* CSV / XLSX: one header row with the field names, then one row per record; list fields are
  ';'-separated (a JSON list in the cell also works), yes/no fields `true`/`false`, dates
  `YYYY-MM-DD`, an empty cell means the field's default. A round's `programs` cell is a
  ';'-separated list of `program_id` or `program_id:seats:budget` (e.g.
  `acc_tehran:10:5000000000; fund_x::2000000000`); a `program_ids` column works too.

Row numbers in errors are what a person sees: the n-th object of a JSON list, the spreadsheet
row of a CSV/XLSX file (the header is row 1, so the first record is row 2).

Reading is all-or-nothing: every row is validated first and `ImportValidationError` lists
every bad row, unless `skip_invalid=True`. Problems with the file itself (missing, too large,
not UTF-8, not a list) are one-line `InvalidInputError`s. Messages never quote
business-plan text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, get_origin

from pydantic import BaseModel, ValidationError

from recommender import schemas
from recommender.constants import MAX_IMPORT_BYTES
from recommender.errors import ImportValidationError, InvalidInputError, RowError, bilingual
from recommender.text.persian import format_number
from recommender.text.safe_text import unneutralise_cell

M = TypeVar("M", bound=BaseModel)

KIND_MODELS: dict[str, type[BaseModel]] = {
    "programs": schemas.Program,
    "applications": schemas.Application,
    "rounds": schemas.IntakeRound,
    "outcomes": schemas.Outcome,
    "orgs": schemas.Organization,
}
FORMATS: tuple[str, ...] = (".json", ".csv", ".xlsx")
ROW_FIELD = "(row)"  # RowError.field when the problem is the whole row



@dataclass
class ReadResult(Generic[M]):
    """What an import file held.

    Attributes:
        kind: programs, applications, rounds, outcomes or orgs (houses).
        items: the valid records, in file order.
        rows: the row number of each item (same length as `items`).
        errors: the bad rows (empty unless read with `skip_invalid=True`).
    """

    kind: str
    items: list[M] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def raise_for_errors(self, source: str | None = None) -> None:
        """Raise ImportValidationError listing every bad row, if there is one."""
        if self.errors:
            raise ImportValidationError(self.errors, _error_head(len(self.errors), source))


def _error_head(n_errors: int, source: str | None) -> str:
    prefix = f"{source}: " if source else ""
    return bilingual(
        f"{prefix}{n_errors} problem(s) found; nothing was imported",
        f"{prefix}{format_number(n_errors)} ردیف نادرست است؛ هیچ ردیفی وارد نشد.",
    )


def model_for(kind: str) -> type[BaseModel]:
    """The schema model of `kind` (programs, applications, rounds, outcomes)."""
    try:
        return KIND_MODELS[kind]
    except KeyError:
        raise InvalidInputError(
            f"unknown kind '{kind}'; use one of: {', '.join(KIND_MODELS)}"
        ) from None


def detect_format(path: str | Path) -> str:
    """The file format by extension: '.json', '.csv' or '.xlsx'.

    Raises:
        InvalidInputError: any other extension.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        shown = f"'{suffix}'" if suffix else "no extension"
        raise InvalidInputError(
            bilingual(
                f"{Path(path).name}: unsupported file type ({shown}); use .json, .csv or .xlsx",
                f"{Path(path).name}: نوع پرونده پذیرفته نیست؛ json، csv یا xlsx بدهید.",
            )
        )
    return suffix


# --------------------------------------------------------------------------- reading
def read_records(
    path: str | Path, kind: str, *, skip_invalid: bool = False
) -> ReadResult[BaseModel]:
    """Read and validate every record of an import file.

    Args:
        path: a .json, .csv or .xlsx file of at most `MAX_IMPORT_BYTES`.
        kind: programs, applications, rounds, outcomes or orgs (houses).
        skip_invalid: return the valid rows and the errors instead of raising.

    Returns:
        The valid records with their row numbers (and the errors when skipping).

    Raises:
        InvalidInputError: the file cannot be used at all (one line).
        ImportValidationError: some rows are bad and `skip_invalid` is False.
    """
    model = model_for(kind)
    path = Path(path)
    fmt = detect_format(path)
    _check_file(path)
    tabular = fmt != ".json"
    if fmt == ".json":
        raw = _read_json(path)
    else:
        raw = _read_table(path, fmt, model)
    result: ReadResult[BaseModel] = ReadResult(kind)
    first_row: dict[Any, int] = {}
    for row, obj in raw:
        try:
            item = _validate(model, obj, tabular, kind)
        except _RowProblem as problem:
            result.errors.append(RowError(row, problem.field, problem.reason))
            continue
        except ValidationError as exc:
            result.errors.extend(_row_errors(row, exc, model))
            continue
        key = _key(kind, item)
        if key in first_row:
            what = "application_id/program_id pair" if kind == "outcomes" else "id"
            result.errors.append(
                RowError(
                    row,
                    "application_id" if kind == "outcomes" else "id",
                    f"duplicate {what} {_show_key(key)} (first on row {first_row[key]})",
                )
            )
            continue
        first_row[key] = row
        result.items.append(item)
        result.rows.append(row)
    if not skip_invalid:
        result.raise_for_errors(path.name)
    return result


def read_programs(path: str | Path, *, skip_invalid: bool = False) -> ReadResult[Any]:
    """`read_records(path, "programs")`."""
    return read_records(path, "programs", skip_invalid=skip_invalid)


def read_applications(path: str | Path, *, skip_invalid: bool = False) -> ReadResult[Any]:
    """`read_records(path, "applications")`."""
    return read_records(path, "applications", skip_invalid=skip_invalid)


def read_rounds(path: str | Path, *, skip_invalid: bool = False) -> ReadResult[Any]:
    """`read_records(path, "rounds")`."""
    return read_records(path, "rounds", skip_invalid=skip_invalid)


def read_outcomes(path: str | Path, *, skip_invalid: bool = False) -> ReadResult[Any]:
    """`read_records(path, "outcomes")`."""
    return read_records(path, "outcomes", skip_invalid=skip_invalid)


def check_references(
    result: ReadResult[M],
    known: Mapping[str, Collection[str]],
    *,
    skip_invalid: bool = False,
    source: str | None = None,
) -> ReadResult[M]:
    """Move records that name unknown ids from `items` to `errors`.

    Outcomes must name a known `application_id` and `program_id`; rounds known programs;
    programs, applications and rounds that name a house (`org_id`) a known house, when
    `known` has "orgs". Other kinds pass unchanged.

    Args:
        result: what `read_records` returned.
        known: stored ids by kind, e.g. `{"programs": {...}, "applications": {...}}`
            (houses: "orgs").
        skip_invalid: keep going instead of raising when any row (old or new) is bad.
        source: the file name, for the message.

    Raises:
        ImportValidationError: any error (including earlier ones in `result.errors`) when
            `skip_invalid` is False.
    """
    checks: list[tuple[str, str, Callable[[Any], list[str]]]] = []
    if result.kind == "outcomes":
        checks = [
            ("application_id", "applications", lambda o: [o.application_id]),
            ("program_id", "programs", lambda o: [o.program_id]),
        ]
    elif result.kind == "rounds":
        checks = [("programs", "programs", lambda r: [p.program_id for p in r.programs])]
    if "orgs" in known and result.kind in ("programs", "applications", "rounds"):
        checks.append(("org_id", "orgs", lambda i: [i.org_id] if i.org_id else []))
    out: ReadResult[M] = ReadResult(result.kind, errors=list(result.errors))
    for item, row in zip(result.items, result.rows, strict=True):
        problems = [
            RowError(row, field_name, f"unknown {kind_name[:-1]} id '{value}'")
            for field_name, kind_name, values in checks
            for value in values(item)
            if value not in known.get(kind_name, ())
        ]
        if problems:
            out.errors.extend(problems)
        else:
            out.items.append(item)
            out.rows.append(row)
    out.errors.sort(key=lambda e: e.row)
    if not skip_invalid:
        out.raise_for_errors(source)
    return out


def table_cells(path: str | Path) -> list[list[str]]:
    """Every row of a .csv or .xlsx file as the texts of its cells, the header row first
    (empty cells ''; our own formula-neutralised cells read back as written). For readers of
    other tables than the data contracts (an event's participants).

    Raises:
        InvalidInputError: the file cannot be read, or is a .json file.
    """
    path = Path(path)
    fmt = detect_format(path)
    if fmt == ".json":
        raise InvalidInputError(f"{path.name}: expected a .csv or .xlsx table")
    _check_file(path)
    rows = _csv_rows(path) if fmt == ".csv" else _xlsx_rows(path)
    return [[_cell_text(c) for c in row] for row in rows]


class _RowProblem(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InvalidInputError(bilingual(f"file not found: {path}", f"پروندهٔ {path} نیست."))
    if not path.is_file():
        raise InvalidInputError(bilingual(f"not a file: {path}", f"{path} پرونده نیست."))
    size = path.stat().st_size
    if size > MAX_IMPORT_BYTES:
        raise InvalidInputError(
            bilingual(
                f"{path.name} is {size / 1024 / 1024:.1f} MB; the import limit is "
                f"{MAX_IMPORT_BYTES / 1024 / 1024:.0f} MB (split the file)",
                f"{path.name} {format_number(size / 1024 / 1024, 1)} مگابایت است؛ بیشینهٔ "
                f"درون‌ریزی {format_number(MAX_IMPORT_BYTES / 1024 / 1024)} مگابایت است "
                "(پرونده را چند بخش کنید).",
            )
        )


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            bilingual(
                f"{path.name} is not UTF-8 text (bad byte at position {exc.start}); "
                "save it with UTF-8 encoding",
                f"کدگذاری {path.name} UTF-8 نیست (بایت نادرست در جایگاه "
                f"{format_number(exc.start)})؛ آن را با کدگذاری UTF-8 ذخیره کنید.",
            )
        ) from None


def _read_json(path: Path) -> list[tuple[int, Any]]:
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            bilingual(
                f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                f"{exc.msg})",
                f"{path.name} JSON درست نیست (سطر {format_number(exc.lineno)}، ستون "
                f"{format_number(exc.colno)}).",
            )
        ) from None
    except RecursionError:
        raise InvalidInputError(
            bilingual(
                f"{path.name} is not a list of records: its JSON is nested too deeply",
                f"{path.name} فهرست رکوردها نیست: JSON آن بیش از اندازه تودرتوست.",
            )
        ) from None
    if isinstance(data, dict):
        raise InvalidInputError(
            bilingual(
                f"{path.name} holds one JSON object; expected a list of objects: "
                "[{...}, {...}]",
                f"{path.name} یک شیء JSON دارد؛ فهرستی از شیءها لازم است: [{{...}}, {{...}}]",
            )
        )
    if not isinstance(data, list):
        raise InvalidInputError(
            bilingual(
                f"{path.name} must hold a JSON list of objects",
                f"{path.name} باید فهرستی از شیءهای JSON باشد.",
            )
        )
    return list(enumerate(data, start=1))


def _read_table(path: Path, fmt: str, model: type[BaseModel]) -> list[tuple[int, Any]]:
    rows = _csv_rows(path) if fmt == ".csv" else _xlsx_rows(path)
    header_row = next(rows, None)
    if header_row is None:
        raise InvalidInputError(
            bilingual(
                f"{path.name} is empty; expected a header row of field names",
                f"{path.name} خالی است؛ سطر نخست باید نام ستون‌ها باشد.",
            )
        )
    header = [str(h).strip() for h in header_row]
    columns = {i: name for i, name in enumerate(header) if name}
    names = list(columns.values())
    fields = set(model.model_fields)
    unknown = [n for n in names if n not in fields]
    if unknown:
        raise InvalidInputError(
            bilingual(
                f"{path.name}: unknown column(s) {', '.join(repr(n) for n in unknown)}; "
                f"expected some of: {', '.join(model.model_fields)}",
                f"{path.name}: ستون‌های ناشناخته {'، '.join(unknown)}؛ ستون‌های پذیرفته: "
                f"{'، '.join(model.model_fields)}",
            )
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidInputError(
            bilingual(
                f"{path.name}: column(s) {', '.join(repeated)} appear twice",
                f"{path.name}: ستون‌های {'، '.join(repeated)} دو بار آمده‌اند.",
            )
        )
    missing = [n for n, f in model.model_fields.items() if f.is_required() and n not in names]
    if missing:
        raise InvalidInputError(
            bilingual(
                f"{path.name}: missing column(s) {', '.join(missing)}",
                f"{path.name}: ستون‌های لازم نیستند: {'، '.join(missing)}",
            )
        )
    out: list[tuple[int, Any]] = []
    for number, cells in enumerate(rows, start=2):
        if all(_cell_text(c) == "" for c in cells):
            continue  # blank line
        extra = [c for i, c in enumerate(cells) if i not in columns and _cell_text(c) != ""]
        if extra:
            out.append((number, _RowProblem(ROW_FIELD, "has values outside the named columns")))
            continue
        values = {n: _cell_text(cells[i]) if i < len(cells) else "" for i, n in columns.items()}
        out.append((number, values))
    return out


def _csv_rows(path: Path) -> Iterator[list[Any]]:
    text = _read_text(path)
    csv.field_size_limit(max(csv.field_size_limit(), MAX_IMPORT_BYTES))
    try:
        return iter(list(csv.reader(io.StringIO(text, newline=""))))
    except csv.Error as exc:
        raise InvalidInputError(
            bilingual(
                f"{path.name} is not a readable CSV file ({exc})",
                f"{path.name} پروندهٔ CSV خوانا نیست.",
            )
        ) from None


def _xlsx_rows(path: Path) -> Iterator[list[Any]]:
    from zipfile import BadZipFile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheets = workbook.worksheets
            rows = [list(r) for r in sheets[0].iter_rows(values_only=True)] if sheets else []
        finally:
            workbook.close()
    except (BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        raise InvalidInputError(
            bilingual(
                f"{path.name} cannot be read as an Excel .xlsx workbook ({type(exc).__name__})",
                f"{path.name} به شکل کارپوشهٔ Excel (xlsx) خوانده نشد.",
            )
        ) from None
    return iter(rows)


def _cell_text(value: Any) -> str:
    """A cell as the text a CSV would hold (so CSV and XLSX share one path)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return unneutralise_cell(str(value))


def _text_field(model: type[BaseModel], name: str) -> bool:
    """Fields whose empty cell means '' or [] (str and lists), not 'use the default'."""
    annotation = model.model_fields[name].annotation
    return annotation is str or get_origin(annotation) is list


def _validate(model: type[BaseModel], obj: Any, tabular: bool, kind: str) -> BaseModel:
    if isinstance(obj, _RowProblem):
        raise obj
    if not isinstance(obj, dict):
        raise _RowProblem(ROW_FIELD, f"must be an object with field names, got {_json_kind(obj)}")
    if tabular:
        obj = {k: v for k, v in obj.items() if v.strip() != "" or _text_field(model, k)}
        if kind == "rounds" and "programs" in obj:
            obj["programs"] = _parse_round_programs(obj["programs"])
    return model.model_validate(obj)


def _parse_round_programs(cell: str) -> Any:
    text = cell.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise _RowProblem("programs", "is not a valid JSON list") from None
    parts = []
    for entry in (e.strip() for e in text.replace("،", ";").split(";")):
        if not entry:
            continue
        pieces = [p.strip() for p in entry.split(":")]
        if len(pieces) > 3 or not pieces[0]:
            raise _RowProblem(
                "programs", f"'{entry}' is not program_id or program_id:seats:budget"
            )
        pieces += [""] * (3 - len(pieces))
        parts.append({"program_id": pieces[0], "seats": pieces[1], "budget": pieces[2]})
    return parts


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return type(value).__name__


def _field_name(loc: tuple[Any, ...], message: str, model: type[BaseModel]) -> str:
    if not loc:
        first = message.split(" ", 1)[0]
        return first if first in model.model_fields else ROW_FIELD
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part + 1}]"
        else:
            name += f".{part}" if name else str(part)
    return name


_DATE_ERRORS = {
    "date_parsing",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
    "date_type",
    "date_future",
    "date_past",
}


def _reason(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "must be a whole number"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind == "string_type":
        return "must be text"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length')} characters)"
    if kind == "greater_than_equal":
        limit = ctx.get("ge")
        return "must not be negative" if limit == 0 else f"must be at least {limit}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind in _DATE_ERRORS:
        return "must be a date like 2025-03-21 (YYYY-MM-DD)"
    if kind == "list_type":
        return "must be a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be an object"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error") or error["msg"])
    return str(error["msg"])


def _row_errors(row: int, exc: ValidationError, model: type[BaseModel]) -> list[RowError]:
    out = []
    for error in exc.errors(include_input=False, include_url=False):
        reason = _reason(error)
        out.append(RowError(row, _field_name(tuple(error["loc"]), reason, model), reason))
    return out


def _key(kind: str, item: Any) -> Any:
    return (item.application_id, item.program_id) if kind == "outcomes" else item.id


def _show_key(key: Any) -> str:
    return "/".join(f"'{k}'" for k in key) if isinstance(key, tuple) else f"'{key}'"
