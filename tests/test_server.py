"""The managed Neo4j: lifecycle, password handling, APOC, Browser and the ``kg neo4j`` commands.

Tests that restart the server leave it running for the tests after them.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.config import Settings
from kg.errors import ConfigError, GraphUnavailableError, ServerError
from loaders.neo4j import server
from loaders.neo4j.connection import open_driver, password
from tests.conftest import empty_database


def _variant(settings: Settings, section: str, **update: object) -> Settings:
    """A copy with some keys of one section changed. Built anew, not with ``model_copy``, which
    would keep the cached directory properties of the original."""
    tree = settings.model_dump()
    tree[section].update(update)
    return Settings.model_validate(tree)


def _with_neo4j(settings: Settings, **update: object) -> Settings:
    return _variant(settings, "neo4j", **update)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cli_env(settings: Settings) -> dict[str, str]:
    """Environment that points ``kg`` (which reads its own settings) at the test server."""
    return {
        "XDG_CONFIG_HOME": str(settings.config_dir / "no-user-config"),
        "KG_PATHS__CACHE_DIR": str(settings.cache_dir),
        "KG_PATHS__DATA_DIR": str(settings.data_dir),
        "KG_PATHS__CONFIG_DIR": str(settings.config_dir),
        "KG_NEO4J__HOME": str(settings.neo4j_home),
        "KG_NEO4J__BOLT_PORT": str(settings.neo4j.bolt_port),
        "KG_NEO4J__HTTP_PORT": str(settings.neo4j.http_port),
        "KG_NEO4J__HEAP": settings.neo4j.heap,
        "KG_NEO4J__PAGECACHE": settings.neo4j.pagecache,
    }


# ------------------------------------------------------------------------- the running server


def test_second_start_is_harmless(neo4j_server) -> None:
    before = server.status(neo4j_server.settings)
    info = server.start(neo4j_server.settings)
    assert info.already_running
    assert info.pid == before.pid
    assert info.version == neo4j_server.settings.neo4j.version


def test_status_names_the_running_process(neo4j_server) -> None:
    info = server.status(neo4j_server.settings)
    assert info.running
    pid_file = neo4j_server.settings.neo4j_home / "run" / "neo4j.pid"
    assert int(pid_file.read_text()) == info.pid
    assert info.bolt_uri == f"bolt://127.0.0.1:{neo4j_server.settings.neo4j.bolt_port}"


def test_password_file_is_private_and_never_written_elsewhere(neo4j_server) -> None:
    settings = neo4j_server.settings
    path = settings.password_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    secret = password(settings).encode()
    assert len(secret) >= 24
    logs = list((settings.neo4j_home / "logs").iterdir())
    assert any(p.name == "debug.log" for p in logs)
    leaks = [p for p in settings.neo4j_home.rglob("*") if p.is_file() and secret in p.read_bytes()]
    assert leaks == []


def test_apoc_and_its_dependencies_are_loaded(graph, settings) -> None:
    records, _, _ = graph.execute_query(
        "RETURN apoc.version() AS version, "
        "apoc.json.path('{\"a\": [1, 2]}', '$.a') AS json_path, "  # jayway json-path
        "apoc.text.levenshteinDistance('kitten', 'sitting') AS distance"  # commons-text
    )
    assert records[0]["version"] == settings.neo4j.apoc_version
    assert records[0]["json_path"] == [1, 2]
    assert records[0]["distance"] == 3


def test_browser_is_served(neo4j_server) -> None:
    with urllib.request.urlopen(neo4j_server.settings.browser_url, timeout=10) as response:
        assert response.status == 200
        assert b"<title>Neo4j Browser</title>" in response.read()


def test_empty_database_removes_data_and_schema(graph, settings) -> None:
    graph.execute_query("CREATE (:Probe {n: 1})")
    graph.execute_query("CREATE CONSTRAINT probe_n FOR (p:Probe) REQUIRE p.n IS UNIQUE")
    empty_database(graph, settings.neo4j.database)
    assert graph.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"] == 0
    assert graph.execute_query("SHOW CONSTRAINTS").records == []


def test_data_survives_stop_and_start(neo4j_server, graph) -> None:
    graph.execute_query("CREATE (:Survivor {name: 'kept'})")
    graph.close()
    old = server.status(neo4j_server.settings).pid
    info = neo4j_server.restart()
    assert info.pid != old and not info.already_running
    with open_driver(neo4j_server.settings) as driver:
        records, _, _ = driver.execute_query("MATCH (s:Survivor) RETURN s.name AS name")
    assert [r["name"] for r in records] == ["kept"]


# ------------------------------------------------------------------------- the command line


def test_cli_status_start_logs_stop(neo4j_server) -> None:
    settings = neo4j_server.settings
    runner = CliRunner(env=_cli_env(settings))
    secret = password(settings)

    status = runner.invoke(main, ["neo4j", "status"])
    assert status.exit_code == 0, status.output
    assert "running" in status.output

    again = runner.invoke(main, ["neo4j", "start"])
    assert again.exit_code == 0, again.output
    assert "already running" in again.output
    assert settings.browser_url in again.output
    assert str(settings.password_file) in again.output
    assert secret not in again.output

    logs = runner.invoke(main, ["neo4j", "logs", "-n", "3"])
    assert logs.exit_code == 0
    assert len(logs.output.splitlines()) == 3

    stopped = runner.invoke(main, ["neo4j", "stop"])
    assert stopped.exit_code == 0 and "stopped" in stopped.output
    assert runner.invoke(main, ["neo4j", "status"]).exit_code == 3
    assert "not running" in runner.invoke(main, ["neo4j", "stop"]).output

    started = runner.invoke(main, ["neo4j", "start"])
    assert started.exit_code == 0, started.output
    assert "started in" in started.output and secret not in started.output
    # The installed entry point, in a process of its own.
    done = subprocess.run(
        [str(Path(sys.executable).with_name("kg")), "neo4j", "status"],
        env={**os.environ, **_cli_env(settings)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_cli_help_describes_every_command() -> None:
    runner = CliRunner()
    for command in ("fetch", "start", "stop", "status", "logs"):
        result = runner.invoke(main, ["neo4j", command, "--help"])
        assert result.exit_code == 0
        assert "Usage: " in result.output and len(result.output.splitlines()) > 3


# ------------------------------------------------------------------------- without a server


@pytest.mark.neo4j
def test_port_in_use_is_a_clear_error(settings, tmp_path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        other = _with_neo4j(settings, home=str(tmp_path / "home"), bolt_port=port)
        with pytest.raises(ServerError, match=rf"Bolt port 127.0.0.1:{port} is in use") as err:
            server.start(other)
    assert "KG_NEO4J__BOLT_PORT" in str(err.value)


def test_stale_pid_file_is_removed(settings, tmp_path) -> None:
    other = _with_neo4j(settings, home=str(tmp_path / "home"))
    pid_file = tmp_path / "home" / "run" / "neo4j.pid"
    pid_file.parent.mkdir(parents=True)
    pid_file.write_text(f"{os.getpid()}\n")  # alive, but not a Neo4j server
    assert not server.status(other).running
    assert not pid_file.exists()
    assert not server.stop(other).running


@pytest.mark.neo4j
def test_invalid_setting_stops_start_with_neo4j_message(settings, tmp_path) -> None:
    other = _with_neo4j(
        settings,
        home=str(tmp_path / "home"),
        pagecache="lots",
        bolt_port=_free_port(),
        http_port=_free_port(),
    )
    with pytest.raises(ServerError, match="server.memory.pagecache.size"):
        server.start(other)
    assert not server.status(other).running


def test_second_server_on_the_same_data_exits_and_is_reported(neo4j_server, tmp_path) -> None:
    """One process per data directory: Neo4j's store lock stops the second, and start says so."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "data").symlink_to(neo4j_server.settings.neo4j_home / "data")
    other = _with_neo4j(
        neo4j_server.settings, home=str(home), bolt_port=_free_port(), http_port=_free_port()
    )
    with pytest.raises(ServerError, match="exited during startup") as err:
        server.start(other)
    assert "lock" in str(err.value).lower()  # Neo4j's own words, from its log
    assert not server.status(other).running
    assert not (home / "run" / "neo4j.pid").exists()
    assert server.status(neo4j_server.settings).running


def test_missing_maven_says_how_to_install_it(settings, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    fresh = _variant(settings, "paths", cache_dir=str(tmp_path / "cache"))
    with pytest.raises(ServerError, match="Maven") as err:
        server.fetch(fresh)
    assert "apt-get install maven" in str(err.value)


def test_unsupported_java_says_which_to_install(tmp_path, monkeypatch) -> None:
    fake_home = tmp_path / "jdk-25"
    (fake_home / "bin").mkdir(parents=True)
    fake_java = fake_home / "bin" / "java"
    fake_java.write_text("#!/bin/sh\necho 'openjdk version \"25.0.1\" 2025-10-21' >&2\n")
    fake_java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(fake_home))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(server, "JDK_DIRS", ())
    with pytest.raises(ServerError, match=r"Java 17 or 21; found only .*\(Java 25\)") as err:
        server.find_java()
    assert "openjdk-17" in str(err.value)


@pytest.mark.neo4j
def test_existing_database_without_its_password_is_refused_before_launch(
    settings, tmp_path
) -> None:
    other = _variant(
        _with_neo4j(
            settings, home=str(tmp_path / "home"), bolt_port=_free_port(), http_port=_free_port()
        ),
        "paths",
        config_dir=str(tmp_path / "config"),
    )
    (tmp_path / "home" / "data" / "databases" / "system").mkdir(parents=True)
    with pytest.raises(ConfigError, match="has a password") as err:
        server.start(other)
    assert "NEO4J_PASSWORD" in str(err.value)
    assert not other.password_file.exists()  # no new password that could not match
    assert not (tmp_path / "home" / "run" / "neo4j.pid").exists()


def test_missing_password_says_how_to_get_one(settings, tmp_path) -> None:
    nowhere = _variant(settings, "paths", config_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="kg neo4j start"):
        password(nowhere)


def test_unreachable_server_is_graph_unavailable(settings, monkeypatch) -> None:
    monkeypatch.setenv("NEO4J_PASSWORD", "irrelevant")
    port = _free_port()
    with pytest.raises(GraphUnavailableError, match=f"127.0.0.1:{port}") as err:
        open_driver(_with_neo4j(settings, bolt_port=port))
    assert err.value.transient
    assert "kg neo4j start" in str(err.value)


def test_external_uri_is_used_when_set(settings, monkeypatch) -> None:
    port = _free_port()
    monkeypatch.setenv("NEO4J_URI", f"bolt://127.0.0.1:{port}")
    monkeypatch.setenv("NEO4J_PASSWORD", "irrelevant")
    assert not settings.managed
    with pytest.raises(GraphUnavailableError, match="check NEO4J_URI"):
        open_driver(settings)


@pytest.mark.neo4j
@pytest.mark.slow
def test_interrupted_fetch_is_redone(settings, tmp_path) -> None:
    """A cache left without its completion marker is fetched again (jars come from ~/.m2)."""
    fresh = _variant(settings, "paths", cache_dir=str(tmp_path))
    assert server.runtime(fresh).root.parent == tmp_path
    half = server.runtime(fresh)
    half.lib.mkdir(parents=True)
    (half.lib / "partial.jar").write_bytes(b"")
    assert not server.is_fetched(fresh)
    rt = server.fetch(fresh)
    assert server.is_fetched(fresh)
    assert not (rt.lib / "partial.jar").exists()
    assert sorted(p.name for p in rt.plugins.iterdir()) == [
        f"apoc-common-{settings.neo4j.apoc_version}.jar",
        f"apoc-core-{settings.neo4j.apoc_version}.jar",
    ]
    assert (rt.lib / f"neo4j-{settings.neo4j.version}.jar").is_file()
    assert (rt.lib / f"neo4j-browser-{settings.neo4j.browser_version}.jar").is_file()
    assert list(tmp_path.glob(".neo4j-*")) == []  # no staging left behind
    assert server.fetch(fresh) == rt
