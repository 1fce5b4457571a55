"""The named Cypher query library: one parameterized ``.cypher`` file per question.

Each file in this package starts with a header of ``//`` comment lines::

    // answers: what question the query answers (may continue on indented ``//`` lines)
    // param: NAME (KIND[ RANGE][, optional | , default VALUE]): what it means
    // example: kg query NAME --param k=v

``KIND`` is one of :data:`KINDS`. Values reach Cypher **only as parameters**: nothing a user
types is ever spliced into the query text. Each value is checked against its kind first; the
kinds ``entity_type`` and ``predicate`` accept only names from the closed schema
(:mod:`kg.schema`) and become the label value / relationship type name the query compares with.
The one piece of generated Cypher text is the token ``{{ASSERTED}}``, which expands to the
relationship types of every asserted predicate, taken from :data:`kg.schema.PREDICATES`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

from kg.errors import ConfigError, KGError, SchemaError
from kg.schema import PREDICATES, parse_entity_type, predicate_by_curie

if TYPE_CHECKING:
    import neo4j

    from kg.config import Settings

T = TypeVar("T")

#: Schema tokens a query file may use; their text comes from the schema tables only.
SCHEMA_TOKENS: dict[str, str] = {
    "{{ASSERTED}}": "|".join(sorted(p.rel_type for p in PREDICATES.values())),
}

_HEADER = re.compile(r"^//\s?(?P<body>.*)$")
_FIELD = re.compile(r"^(?P<key>answers|param|example):\s*(?P<value>.*)$")
_PARAM = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\s*\((?P<kind>\w+)(?:\s+(?P<lo>-?\d+)?\.\.(?P<hi>-?\d+)?)?"
    r"(?:,\s*(?:(?P<optional>optional)|default\s+(?P<default>[^)]+)))?\)\s*:\s*(?P<help>.*)$"
)
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class QueryError(KGError):
    """A named query is unknown, malformed, or was given parameters it cannot take."""

    exit_code = 2


def resolve_predicate_name(value: str) -> str:
    """``biolink:causes``, ``causes`` or ``CAUSES`` -> the relationship type ``CAUSES``.

    Only predicates of the closed schema are accepted (:class:`SchemaError` otherwise).
    """
    text = str(value).strip()
    by_rel_type = {p.rel_type: p for p in PREDICATES.values()}
    if text.upper() in by_rel_type:
        return text.upper()
    curie = text if ":" in text else f"biolink:{text.lower()}"
    return predicate_by_curie(curie).rel_type


def _as_string(value: Any) -> str:
    if isinstance(value, dict | list):
        raise ConfigError(f"expected a text value, got {value!r}")
    return "true" if value is True else "false" if value is False else str(value)


def _number(cast: Callable[[Any], Any], what: str) -> Callable[[Any], Any]:
    """A kind that accepts numbers (not booleans) and numeric text, turned by ``cast``."""
    allowed = int | str if cast is int else int | float | str

    def convert(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, allowed):
            raise ConfigError(f"expected {what}, got {value!r}")
        try:
            return cast(value)
        except ValueError as exc:
            raise ConfigError(f"expected {what}, got {value!r}") from exc

    return convert


_as_int = _number(int, "an integer")
_as_float = _number(float, "a number")


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise ConfigError(f"expected true or false, got {value!r}")


def _as_date(value: Any) -> str:
    text = _as_string(value).strip()
    if not _DATE.match(text):
        raise ConfigError(f"expected a date YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}")
    return text


#: Parameter kinds: each turns a raw value (text from the command line, or JSON) into the value
#: sent to Neo4j, or raises. Schema kinds accept only names from kg/schema.py.
KINDS: dict[str, Callable[[Any], Any]] = {
    "string": _as_string,
    "int": _as_int,
    "float": _as_float,
    "bool": _as_bool,
    "date": _as_date,
    "entity_type": lambda v: parse_entity_type(_as_string(v)).value,
    "predicate": lambda v: resolve_predicate_name(_as_string(v)),
}


@dataclass(frozen=True, slots=True)
class Param:
    """One declared parameter of a named query."""

    name: str
    kind: str
    help: str
    required: bool = True
    default: Any = None
    low: float | None = None
    high: float | None = None

    def coerce(self, raw: Any) -> Any:
        """The value sent to Neo4j for ``raw``, or :class:`QueryError`."""
        try:
            value = KINDS[self.kind](raw)
        except (ConfigError, SchemaError) as exc:
            raise QueryError(f"--param {self.name}: {exc.message}", hint=exc.hint) from exc
        if self.low is not None and value < self.low:
            raise QueryError(f"--param {self.name}: {value} is below {self.low:g}")
        if self.high is not None and value > self.high:
            raise QueryError(f"--param {self.name}: {value} is above {self.high:g}")
        return value

    def describe(self) -> str:
        """One line for ``kg query --list`` and error hints."""
        bounds = ""
        if self.low is not None or self.high is not None:
            lo = "" if self.low is None else f"{self.low:g}"
            hi = "" if self.high is None else f"{self.high:g}"
            bounds = f" {lo}..{hi}"
        need = (
            "required"
            if self.required
            else "optional"
            if self.default is None
            else f"default {self.default}"
        )
        return f"{self.name} ({self.kind}{bounds}, {need}): {self.help}"


@dataclass(frozen=True, slots=True)
class NamedQuery:
    """A query file: what it answers, its parameters, examples, and the Cypher to run."""

    name: str
    answers: str
    params: tuple[Param, ...]
    examples: tuple[str, ...]
    cypher: str

    def bind(self, given: dict[str, Any]) -> dict[str, Any]:
        """Check ``given`` against the declared parameters: the dict sent to Neo4j."""
        declared = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise QueryError(
                f"query {self.name!r} has no parameter {', '.join(unknown)}",
                hint=f"its parameters: {', '.join(declared) or 'none'} (kg query --list)",
            )
        bound: dict[str, Any] = {}
        for param in self.params:
            if param.name in given and given[param.name] is not None:
                bound[param.name] = param.coerce(given[param.name])
            elif param.required:
                raise QueryError(
                    f"query {self.name!r} needs --param {param.name}=...",
                    hint=param.describe(),
                )
            else:
                bound[param.name] = param.default
        return bound


def _parse_default(param: Param, text: str | None) -> Any:
    if text is None or text.strip() == "null":
        return None
    return param.coerce(text.strip())


def parse_query(name: str, text: str) -> NamedQuery:
    """Read a query file's header and body; refuse a file without ``answers`` or with a bad
    ``param`` line, or with a ``{{TOKEN}}`` the schema does not define."""
    fields: list[tuple[str, str]] = []
    body: list[str] = []
    in_header = True
    for line in text.splitlines():
        match = _HEADER.match(line.strip()) if in_header else None
        if match is None:
            in_header = False
            body.append(line)
            continue
        content = match.group("body")
        field = _FIELD.match(content.strip())
        if field:
            fields.append((field.group("key"), field.group("value").strip()))
        elif fields and content.startswith(" "):
            key, value = fields[-1]
            fields[-1] = (key, f"{value} {content.strip()}")
    answers = " ".join(v for k, v in fields if k == "answers")
    if not answers:
        raise QueryError(f"query file {name}.cypher has no '// answers:' header line")
    params: list[Param] = []
    for key, value in fields:
        if key != "param":
            continue
        m = _PARAM.match(value)
        if m is None or m.group("kind") not in KINDS:
            raise QueryError(
                f"query file {name}.cypher: cannot read '// param: {value}'",
                hint="write '// param: NAME (KIND[ LO..HI][, optional | , default V]): help' "
                f"with KIND one of {', '.join(KINDS)}",
            )
        param = Param(
            name=m.group("name"),
            kind=m.group("kind"),
            help=m.group("help"),
            required=not (m.group("optional") or m.group("default")),
            low=float(m.group("lo")) if m.group("lo") else None,
            high=float(m.group("hi")) if m.group("hi") else None,
        )
        params.append(replace(param, default=_parse_default(param, m.group("default"))))
    cypher = "\n".join(body).strip()
    for token, expansion in SCHEMA_TOKENS.items():
        cypher = cypher.replace(token, expansion)
    leftover = re.findall(r"\{\{\w+\}\}", cypher)
    if leftover:
        raise QueryError(
            f"query file {name}.cypher uses unknown token(s) {', '.join(leftover)}",
            hint=f"known tokens: {', '.join(SCHEMA_TOKENS)}",
        )
    return NamedQuery(
        name=name,
        answers=answers,
        params=tuple(params),
        examples=tuple(v for k, v in fields if k == "example"),
        cypher=cypher,
    )


@cache
def library() -> dict[str, NamedQuery]:
    """Every ``*.cypher`` file of this package, by name (the file stem)."""
    out: dict[str, NamedQuery] = {}
    for entry in sorted(resources.files("queries").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".cypher"):
            name = entry.name.removesuffix(".cypher")
            out[name] = parse_query(name, entry.read_text(encoding="utf-8"))
    return out


def get_query(name: str) -> NamedQuery:
    found = library().get(name)
    if found is None:
        raise QueryError(
            f"no query named {name!r}",
            hint=f"known queries: {', '.join(library())} (kg query --list)",
        )
    return found


def run_named(
    driver: neo4j.Driver, database: str, name: str, params: dict[str, Any] | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """Run a library query with checked parameters in a READ transaction on ``driver``."""
    from loaders.neo4j.query import to_plain

    query = get_query(name)
    bound = query.bind(params or {})

    def work(tx: Any) -> tuple[list[str], list[dict[str, Any]]]:
        result = tx.run(query.cypher, bound)
        keys = list(result.keys())
        return keys, [{k: to_plain(r[k]) for k in keys} for r in result]

    with driver.session(database=database, default_access_mode="READ") as session:
        return session.execute_read(work)


def with_driver(settings: Settings, work: Callable[[neo4j.Driver, str], T]) -> T:
    """Open the configured graph, run ``work(driver, database)``, close the driver."""
    from loaders.neo4j.connection import open_driver

    driver = open_driver(settings)
    try:
        return work(driver, settings.neo4j.database)
    finally:
        driver.close()


def run_query(
    settings: Settings, name: str, params: dict[str, Any] | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """The function behind ``kg query NAME``: open the configured graph, run, close."""
    get_query(name).bind(params or {})  # refuse bad parameters before connecting
    return with_driver(settings, lambda driver, db: run_named(driver, db, name, params))
