"""One exception tree for the whole system.

Every error says what happened, to which record, and what to do. ``transient`` tells callers
whether a retry can help (a restarting database) or not (a malformed record).
"""

from __future__ import annotations


class KGError(Exception):
    """Root of every error this package raises on purpose."""

    transient: bool = False
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message


class ConfigError(KGError):
    """The configuration (file, environment, flags) is invalid or incomplete."""

    exit_code = 2


class SchemaError(KGError):
    """Something outside the closed schema: unknown type, predicate or pattern."""


class InputError(KGError):
    """One input record cannot be read. Carries where it came from so it can be quarantined."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        record: str | None = None,
        line: int | None = None,
        hint: str | None = None,
        raw: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                f"file {source}" if source else "",
                f"record {record}" if record else "",
                f"line {line}" if line else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.reason = message
        self.source = source
        self.record = record
        self.line = line
        self.raw = raw


class OffsetMismatchError(InputError):
    """A mention's offsets do not select its text in the document. Refused, never shifted."""


class GraphUnavailableError(KGError):
    """The graph database cannot be reached (yet). A retry may help."""

    transient = True


class LoadIncompleteError(KGError):
    """A load gave up: names the batch that did not commit. Re-running completes it."""


class ServerError(KGError):
    """The managed Neo4j server could not be fetched, started or stopped."""


class ModelNotInstalledError(KGError):
    """No extraction model is installed for the requested step."""
