"""Credentials and driver for the graph: the managed local server or any Neo4j 5 at NEO4J_URI.

The neo4j driver is imported inside the functions, so importing this module stays cheap and the
core never pulls the driver in (STYLE principle 4).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from kg.config import Settings
from kg.errors import ConfigError, GraphUnavailableError

if TYPE_CHECKING:
    import neo4j

PASSWORD_ENV = "NEO4J_PASSWORD"


def password(settings: Settings) -> str:
    """The password: ``$NEO4J_PASSWORD`` if set, else the file the managed server wrote."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    path = settings.password_file
    try:
        stored = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        stored = ""
    if stored:
        return stored
    if settings.managed:
        hint = f"run `kg neo4j start` (it creates {path}) or set {PASSWORD_ENV}"
    else:
        hint = f"set {PASSWORD_ENV} to the password of {settings.neo4j_user} at NEO4J_URI"
    raise ConfigError(
        f"no Neo4j password: {PASSWORD_ENV} is not set and {path} is missing", hint=hint
    )


def open_driver(settings: Settings) -> neo4j.Driver:
    """A driver connected to ``settings.bolt_uri``; raises if the server does not answer."""
    import neo4j
    from neo4j.exceptions import AuthError, DriverError, Neo4jError

    uri = settings.bolt_uri
    driver = neo4j.GraphDatabase.driver(
        uri,
        auth=(settings.neo4j_user, password(settings)),
        # Planner hints ("property key does not exist" on an empty graph) are not for users.
        notifications_min_severity="OFF",
    )
    try:
        driver.verify_connectivity()
    except AuthError as exc:
        driver.close()
        raise ConfigError(
            f"Neo4j at {uri} refused the credentials of user {settings.neo4j_user!r}",
            hint=f"set {PASSWORD_ENV} to that user's password"
            if not settings.managed or os.environ.get(PASSWORD_ENV)
            else f"the password in {settings.password_file} no longer matches the database",
        ) from exc
    except (DriverError, Neo4jError, OSError) as exc:
        driver.close()
        hint = (
            "start the managed server with `kg neo4j start`"
            if settings.managed
            else "check NEO4J_URI and that the server is running"
        )
        raise GraphUnavailableError(f"cannot reach Neo4j at {uri}: {exc}", hint=hint) from exc
    return driver
