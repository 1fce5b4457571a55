"""Read-only Cypher: run a query in a READ transaction and return plain Python rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kg.errors import KGError

if TYPE_CHECKING:
    from kg.config import Settings


def to_plain(value: Any) -> Any:
    """Nodes, relationships, paths and temporal values as JSON-friendly structures."""
    from neo4j.graph import Node, Path, Relationship

    if isinstance(value, Node):
        return {"labels": sorted(value.labels), **{k: to_plain(v) for k, v in value.items()}}
    if isinstance(value, Relationship):
        return {"type": value.type, **{k: to_plain(v) for k, v in value.items()}}
    if isinstance(value, Path):
        return {
            "nodes": [to_plain(n) for n in value.nodes],
            "relationships": [to_plain(r) for r in value.relationships],
        }
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if hasattr(value, "iso_format"):
        return value.iso_format()
    return value


def read_query(
    settings: Settings, query: str, params: dict[str, Any] | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """Run ``query`` read-only; a query that tries to write is refused by the server."""
    from neo4j.exceptions import ClientError

    from loaders.neo4j.connection import open_driver

    driver = open_driver(settings)
    try:
        with driver.session(database=settings.neo4j.database, default_access_mode="READ") as s:

            def work(tx: Any) -> tuple[list[str], list[dict[str, Any]]]:
                result = tx.run(query, **(params or {}))
                keys = list(result.keys())
                return keys, [{k: to_plain(r[k]) for k in keys} for r in result]

            return s.execute_read(work)
    except ClientError as exc:
        raise KGError(
            f"query refused: {exc.message}",
            hint="kg cypher runs read-only queries; check the syntax and parameter names",
        ) from exc
    finally:
        driver.close()
