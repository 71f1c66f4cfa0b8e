"""Every domain error of Peyvand. Each subclasses the built-in it refines, so callers'
existing `except ValueError` / `except LookupError` handlers keep working. Only `api/`
turns them into HTTP status codes or exit codes; messages are plain words for people.

A message may carry its Persian wording after the English one (`bilingual`): the JSON API
shows both, the web pages only the Persian part (api/messages.persian)."""

from __future__ import annotations

from dataclasses import dataclass

from recommender.text.persian import format_number

#: Between the English and the Persian wording of a bilingual message.
BILINGUAL_SEPARATOR = " — "


def bilingual(english: str, persian: str) -> str:
    """One message in both languages: `english — persian` (see the module docstring)."""
    return f"{english}{BILINGUAL_SEPARATOR}{persian}"


class PeyvandError(Exception):
    """Base class of all Peyvand errors."""


@dataclass(frozen=True)
class RowError:
    """One problem in one row of an imported file (1-based row number)."""

    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, field '{self.field}': {self.reason}"


class InvalidInputError(PeyvandError, ValueError):
    """Input that cannot be used as given (bad file, bad value, empty text)."""


class ImportValidationError(InvalidInputError):
    """An import file has bad rows; nothing was imported."""

    def __init__(self, errors: list[RowError], message: str | None = None) -> None:
        self.errors = list(errors)
        head = message or bilingual(
            f"{len(self.errors)} invalid row(s); nothing was imported",
            f"{format_number(len(self.errors))} ردیف نادرست است؛ هیچ ردیفی وارد نشد.",
        )
        lines = [head] + [f"  {e}" for e in self.errors[:200]]
        super().__init__("\n".join(lines))


class EmptyTextError(InvalidInputError):
    """A text that has nothing to embed or match (empty, whitespace or punctuation only)."""


class NotFoundError(PeyvandError, LookupError):
    """An id that is not in the store (application, program, round, model version)."""


class PermissionDeniedError(PeyvandError, PermissionError):
    """The caller may see the object but may not do this to it (e.g. staff of the referring
    house accepting their own referral)."""


class ConflictError(PeyvandError, ValueError):
    """The change does not fit the object's current state (a referral that is no longer open,
    a second open referral of one application to one house, a lost race)."""


class ModelMismatchError(PeyvandError, ValueError):
    """An artifact (index, ranker, cached vectors) was built with another embedding model."""


class CorruptArtifactError(PeyvandError, ValueError):
    """A saved file (index, model, registry entry) cannot be read back."""


class NotFittedError(PeyvandError, ValueError):
    """A component was used before it was fitted or loaded."""


class InfeasibleError(PeyvandError, ValueError):
    """An allocation problem has no solution (e.g. more pins than seats)."""


class ConfigurationError(PeyvandError, ValueError):
    """A setting that cannot work (unknown model name, unreachable database URL)."""


class SolverTimeLimitError(PeyvandError, TimeoutError):
    """The time limit ran out before the solver found any allocation that honours the pins
    and minimums."""


class EventImportError(ImportValidationError):
    """An event file has bad rows; nothing was imported. Its lines are already worded for
    people (Persian, by `recommender.events.validation`), one problem each."""

    def __init__(self, errors: list[RowError], lines: list[str]) -> None:
        self.errors = list(errors)
        InvalidInputError.__init__(self, "\n".join(lines))


def status_of(exc: BaseException) -> int:
    """The HTTP-style status of a domain error (404, 422, 403, 409, 503 or 400): the API's
    responses (api/errors.py) and the command line's wording (api/cli/say.py) both use it."""
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, InvalidInputError):
        return 422
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, InfeasibleError | ConflictError):
        return 409
    if isinstance(exc, ModelMismatchError | CorruptArtifactError | NotFittedError
                  | ConfigurationError):
        return 503
    return 400
