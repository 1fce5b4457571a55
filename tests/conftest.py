"""Shared fixtures: one real managed Neo4j for the whole test session.

``neo4j_server`` starts it once, on test ports (``$KG_TEST_BOLT_PORT`` / ``$KG_TEST_HTTP_PORT``,
default 17687 / 17474, or free ones while another session holds those; ``$KG_TEST_START_TIMEOUT``
seconds to wait for it, default 120). Its home (``neo4j/``),
data dir and config dir (with a generated password) live under a pytest temp dir, or under
``$KG_TEST_NEO4J_HOME`` to keep them between sessions. The jars come from the developer's normal
cache (``~/.cache/kg``), so they are fetched once per machine. ``graph`` gives a driver to an empty
database. Tests that use either, or that need Java and the jars, carry the ``neo4j`` marker:
``pytest -m "not neo4j"`` runs without them.

The developer's own ``NEO4J_*`` and ``KG_*`` environment never reaches these settings.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kg.config import Settings, load_settings
from loaders.neo4j import server
from loaders.neo4j.connection import open_driver

if TYPE_CHECKING:
    import neo4j

#: Environment that would point the tests at another server, password or configuration.
LEAKY_ENV = ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD")
LEAKY_PREFIX = "KG_"
KEPT_PREFIX = "KG_TEST_"
SERVER_FIXTURES = frozenset({"neo4j_server", "graph"})


@dataclass
class ManagedNeo4j:
    """The session's server; ``stop``/``start``/``restart`` let tests bounce it."""

    settings: Settings
    info: server.ServerInfo | None = None

    def start(self) -> server.ServerInfo:
        self.info = server.start(self.settings)
        return self.info

    def stop(self) -> None:
        server.stop(self.settings)

    def restart(self) -> server.ServerInfo:
        self.stop()
        return self.start()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.neo4j)


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment() -> Iterator[None]:
    """Settings read NEO4J_URI/USER/PASSWORD from os.environ at use time, and ``kg`` run by a
    test reads KG_*: hide the developer's own for the whole session."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            leaky = name.startswith(LEAKY_PREFIX) and not name.startswith(KEPT_PREFIX)
            if leaky or name in LEAKY_ENV:
                patch.delenv(name)
        # The models run in the reference format: `auto` would probe this (often busy) machine
        # and keep its verdict in the developer's cache folder for later real runs.
        patch.setenv("KG_EXTRACT__PRECISION", "float32")
        yield


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, _isolated_environment: None) -> Settings:
    """Settings for the test server. Does not start it: use ``neo4j_server`` or ``graph``."""
    kept = os.environ.get("KG_TEST_NEO4J_HOME")
    base = Path(kept).expanduser() if kept else tmp_path_factory.mktemp("kg")
    no_user_config = {"XDG_CONFIG_HOME": str(base / "no-user-config")}
    shared_cache = load_settings(environ=no_user_config).cache_dir
    return load_settings(
        overrides={
            "paths": {
                "cache_dir": str(shared_cache),
                "data_dir": str(base / "data"),
                "config_dir": str(base / "config"),
            },
            "neo4j": {
                "home": str(base / "neo4j"),
                "bolt_port": _test_port("KG_TEST_BOLT_PORT", 17687),
                "http_port": _test_port("KG_TEST_HTTP_PORT", 17474),
                "heap": "512m",
                "pagecache": "256m",
                # a loaded machine (a model training beside the tests) starts Java slowly
                "start_timeout_s": float(os.environ.get("KG_TEST_START_TIMEOUT", "120")),
            },
        },
        environ=no_user_config,
    )


def _test_port(variable: str, default: int) -> int:
    """``$variable``, else ``default``, else (another session holds it) any free port."""
    if variable in os.environ:
        return int(os.environ[variable])
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", default))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def neo4j_server(settings: Settings) -> Iterator[ManagedNeo4j]:
    """The managed server, started once for the session and stopped at its end."""
    managed = ManagedNeo4j(settings)
    managed.start()
    try:
        yield managed
    finally:
        managed.stop()


@pytest.fixture
def graph(neo4j_server: ManagedNeo4j) -> Iterator[neo4j.Driver]:
    """A driver to the test server, whose database is empty: no data, constraints or indexes."""
    neo4j_server.start()  # no-op when running; revives it if an earlier test left it stopped
    driver = open_driver(neo4j_server.settings)
    try:
        empty_database(driver, neo4j_server.settings.neo4j.database)
        yield driver
    finally:
        driver.close()


def empty_database(driver: neo4j.Driver, database: str) -> None:
    """Delete all data, constraints and indexes (but the built-in token lookup indexes)."""
    with driver.session(database=database) as session:
        session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS").consume()
        for kind, plural in (("CONSTRAINT", "CONSTRAINTS"), ("INDEX", "INDEXES")):
            names = [
                record["name"]
                for record in session.run(f"SHOW {plural} YIELD name, type")
                if record["type"] != "LOOKUP"  # the built-in token lookup indexes stay
            ]
            for name in names:
                session.run(f"DROP {kind} `{name}` IF EXISTS").consume()
