"""The managed Neo4j server: jars from Maven Central, a home directory, one java process.

``fetch`` resolves the pinned Neo4j, Browser and APOC jars with Maven into a cache shared by every
home (``<cache_dir>/neo4j-<version>/{lib,plugins}``). ``start`` writes the home's configuration,
sets the initial password on the first start, launches ``CommunityEntryPoint`` detached and waits
until Bolt and HTTP answer. ``stop``, ``status`` and ``log_path`` complete the lifecycle. See
docs/decisions/0001-managed-neo4j.md for the choices made here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from string import Template

from kg.config import Settings
from kg.errors import ConfigError, ServerError
from loaders.neo4j.connection import PASSWORD_ENV, password

log = logging.getLogger(__name__)

#: Servers this process launched: their exit status is collected (no zombies, no ResourceWarning).
_launched: dict[int, subprocess.Popen[bytes]] = {}

DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
FETCH_ATTEMPTS = 3
FETCH_MARKER = "fetched.json"
#: Java feature releases Neo4j 5.26 supports.
SUPPORTED_JAVA = (17, 21)
#: The JVM flags of the stock neo4j.conf (``server.jvm.additional``) that matter here: without
#: -XX:+AlwaysPreTouch (slows the start of a small server) and the TLS, JFR and diagnostic ones.
#: The stock launcher adds -Dfile.encoding=UTF-8 itself.
JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
)
#: Where JDKs are installed (Debian/Ubuntu, macOS), relative to /.
JDK_DIRS = ("usr/lib/jvm/*/bin/java", "Library/Java/JavaVirtualMachines/*/Contents/Home/bin/java")
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
HOME_DIRS = ("conf", "data", "logs", "run", "plugins", "import")
#: APOC artifacts that are procedure jars; their other dependencies go on the classpath only.
APOC_PLUGIN_ARTIFACTS = frozenset({"apoc-core", "apoc-common"})
STOP_TIMEOUT_S = 60.0
MIN_PASSWORD_LENGTH = 8
LOG_FILES = {"neo4j": "neo4j.log", "debug": "debug.log", "console": "console.log"}

_HEAP = re.compile(r"^\d+[kmg]?$", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: Maven messages that mean the artifact does not exist (no point retrying).
_MVN_TERMINAL = ("Could not find artifact", "Failure to find", "was not found in")
_MVN_BOILERPLATE = re.compile(
    r"^\[ERROR\]\s*$|-e switch|-X switch|For more information|\[Help 1\] "
)


@dataclass(frozen=True)
class Runtime:
    """Fetched jars: ``lib`` (classpath) and ``plugins`` (APOC procedure jars)."""

    root: Path
    lib: Path
    plugins: Path


@dataclass(frozen=True)
class ServerInfo:
    """Where the managed server is and whether it runs. ``version`` only after ``start``."""

    running: bool
    home: Path
    bolt_uri: str
    browser_url: str
    pid: int | None = None
    version: str | None = None
    already_running: bool = False
    startup_s: float | None = None


@dataclass(frozen=True)
class Java:
    executable: Path
    version: int

    @property
    def home(self) -> Path:
        return self.executable.resolve().parent.parent


# --------------------------------------------------------------------------------------- fetch


def runtime(settings: Settings) -> Runtime:
    root = settings.cache_dir / f"neo4j-{settings.neo4j.version}"
    return Runtime(root=root, lib=root / "lib", plugins=root / "plugins")


def _pins(settings: Settings) -> dict[str, str]:
    cfg = settings.neo4j
    return {"neo4j": cfg.version, "apoc": cfg.apoc_version, "browser": cfg.browser_version}


def is_fetched(settings: Settings) -> bool:
    marker = runtime(settings).root / FETCH_MARKER
    try:
        return bool(json.loads(marker.read_text()) == _pins(settings))
    except (OSError, ValueError):
        return False


def fetch(settings: Settings) -> Runtime:
    """Resolve the pinned jars into the cache; a completed fetch is not repeated.

    Everything is built in a temporary sibling directory and renamed into place at the end, so an
    interrupted fetch leaves no half-filled cache and is simply redone.
    """
    rt = runtime(settings)
    if is_fetched(settings):
        return rt
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServerError(
            "Maven (mvn) is not installed; it fetches the Neo4j jars from Maven Central",
            hint="install it: `sudo apt-get install maven` (Debian/Ubuntu) or `brew install maven`",
        )
    java = find_java()
    rt.root.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_stages(rt.root)
    pins = _pins(settings)
    log.info("fetching Neo4j %s, APOC %s, Browser %s", pins["neo4j"], pins["apoc"], pins["browser"])
    stage = Path(tempfile.mkdtemp(prefix=f".{rt.root.name}.{os.getpid()}.", dir=rt.root.parent))
    try:
        server_jars = _resolve(
            mvn,
            java,
            stage / "server",
            [
                ("org.neo4j", "neo4j", pins["neo4j"]),
                ("org.neo4j.client", "neo4j-browser", pins["browser"]),
            ],
        )
        apoc_jars = _resolve(
            mvn,
            java,
            stage / "apoc",
            [
                ("org.neo4j.procedure", "apoc-core", pins["apoc"]),
                ("org.neo4j.procedure", "apoc-common", pins["apoc"]),
            ],
        )
        (stage / "lib").mkdir()
        (stage / "plugins").mkdir()
        provided = {(group, artifact) for group, artifact, _ in server_jars}
        for _, _, jar in server_jars:
            jar.rename(stage / "lib" / jar.name)
        for group, artifact, jar in apoc_jars:
            if group == "org.neo4j.procedure" and artifact in APOC_PLUGIN_ARTIFACTS:
                jar.rename(stage / "plugins" / jar.name)
            elif (group, artifact) not in provided:  # Neo4j's own version wins
                jar.rename(stage / "lib" / jar.name)
        shutil.rmtree(stage / "server")
        shutil.rmtree(stage / "apoc")
        (stage / FETCH_MARKER).write_text(json.dumps(pins))
        if is_fetched(settings):  # another process finished first
            return rt
        shutil.rmtree(rt.root, ignore_errors=True)
        stage.rename(rt.root)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    log.info("Neo4j jars in %s", rt.root)
    return rt


def _remove_abandoned_stages(root: Path) -> None:
    """Remove what interrupted fetches left (``.<name>.<pid>.<random>`` of dead processes)."""
    for stage in root.parent.glob(f".{root.name}.*"):
        pid = stage.name[len(root.name) + 2 :].partition(".")[0]
        if not pid.isdigit() or _process_args(int(pid)) is None:
            shutil.rmtree(stage, ignore_errors=True)


def _resolve(
    mvn: str, java: Java, workdir: Path, artifacts: list[tuple[str, str, str]]
) -> list[tuple[str, str, Path]]:
    """Copy ``artifacts`` and their runtime dependencies below ``workdir``.

    Returns (group, artifact, jar) for each jar; an artifact may have several (classifiers).
    """
    workdir.mkdir(parents=True)
    dependencies = "\n".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
        f"<version>{v}</version></dependency>"
        for g, a, v in artifacts
    )
    pom = _template("pom.xml").substitute(
        what=", ".join(f"{g}:{a}:{v}" for g, a, v in artifacts),
        artifact=f"kg-{workdir.name}",
        dependencies=dependencies,
    )
    (workdir / "pom.xml").write_text(pom)
    repo = workdir / "repo"
    command = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(workdir / "pom.xml"),
        f"{DEPENDENCY_PLUGIN}:copy-dependencies",
        "-DincludeScope=runtime",
        "-Dmdep.useRepositoryLayout=true",
        f"-DoutputDirectory={repo}",
    ]
    env = {**os.environ, "JAVA_HOME": str(java.home)}
    for attempt in range(1, FETCH_ATTEMPTS + 1):
        # After a failed transfer Maven caches the failure; -U makes it ask Central again.
        extra = ["-U"] if attempt > 1 else []
        done = subprocess.run(
            [*command, *extra], capture_output=True, text=True, env=env, check=False
        )
        if done.returncode == 0:
            break
        output = "\n".join(
            line
            for line in _ANSI.sub("", done.stdout + done.stderr).splitlines()
            if not _MVN_BOILERPLATE.search(line)
        )
        terminal = any(marker in output for marker in _MVN_TERMINAL)
        if terminal or attempt == FETCH_ATTEMPTS:
            raise ServerError(
                f"Maven could not fetch {', '.join(a for _, a, _ in artifacts)} "
                f"(attempt {attempt}):\n{_tail(output.splitlines(), 15)}",
                hint="check the versions in the [neo4j] configuration"
                if terminal
                else "check the network connection to Maven Central and run it again",
            )
        log.warning("Maven failed (attempt %d of %d); retrying", attempt, FETCH_ATTEMPTS)
        time.sleep(2.0 * attempt)
    jars = []
    for jar in sorted(repo.rglob("*.jar")):
        parts = jar.relative_to(repo).parts  # <group path>/<artifact>/<version>/<file>.jar
        jars.append((".".join(parts[:-3]), parts[-3], jar))
    if not jars:
        raise ServerError(f"Maven reported success but copied no jars into {repo}")
    return jars


# --------------------------------------------------------------------------------------- java


def find_java() -> Java:
    """A Java runtime Neo4j 5.26 supports: ``$JAVA_HOME``, ``java`` on PATH, then known JDK dirs."""
    candidates: list[Path] = []
    if java_home := os.environ.get("JAVA_HOME"):
        candidates.append(Path(java_home) / "bin" / "java")
    if on_path := shutil.which("java"):
        candidates.append(Path(on_path))
    for pattern in JDK_DIRS:
        candidates.extend(sorted(Path("/").glob(pattern)))
    found: list[str] = []
    for candidate in dict.fromkeys(candidates):
        version = _java_version(candidate)
        if version in SUPPORTED_JAVA:
            return Java(candidate, version)
        if version is not None:
            found.append(f"{candidate} (Java {version})")
    raise ServerError(
        "Neo4j 5.26 needs Java 17 or 21; "
        + (f"found only {', '.join(found)}" if found else "no Java runtime was found"),
        hint="install OpenJDK 17: `sudo apt-get install openjdk-17-jre-headless` (Debian/Ubuntu) "
        "or `brew install openjdk@17`, or point JAVA_HOME at a JDK 17 or 21",
    )


@cache
def _java_version(executable: Path) -> int | None:
    if not os.access(executable, os.X_OK):
        return None
    try:
        done = subprocess.run(
            [str(executable), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


# --------------------------------------------------------------------------------------- home


def log_path(settings: Settings, name: str = "neo4j") -> Path:
    """A log file of the managed server: ``neo4j`` (short), ``debug`` or ``console`` (stdout)."""
    if name not in LOG_FILES:
        raise ConfigError(f"unknown log {name!r}", hint=f"one of: {', '.join(LOG_FILES)}")
    return settings.neo4j_home / "logs" / LOG_FILES[name]


def _pid_file(settings: Settings) -> Path:
    return settings.neo4j_home / "run" / "neo4j.pid"


def _local_bolt_uri(settings: Settings) -> str:
    return f"bolt://{settings.neo4j.listen_address}:{settings.neo4j.bolt_port}"


def _info(
    settings: Settings,
    pid: int | None,
    *,
    version: str | None = None,
    already_running: bool = False,
    startup_s: float | None = None,
) -> ServerInfo:
    return ServerInfo(
        running=pid is not None,
        home=settings.neo4j_home,
        bolt_uri=_local_bolt_uri(settings),
        browser_url=settings.browser_url,
        pid=pid,
        version=version,
        already_running=already_running,
        startup_s=startup_s,
    )


def _template(name: str) -> Template:
    text = resources.files("loaders.neo4j").joinpath("templates", name).read_text("utf-8")
    return Template(text)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _prepare_home(settings: Settings, rt: Runtime) -> Path:
    home = settings.neo4j_home
    for name in HOME_DIRS:
        (home / name).mkdir(parents=True, exist_ok=True)
    heap = settings.neo4j.heap
    if not _HEAP.match(heap):
        raise ConfigError(
            f"neo4j.heap = {heap!r} is not a JVM memory size", hint="use e.g. 512m, 1g or 2g"
        )
    conf = home / "conf"
    _write(
        conf / "neo4j.conf",
        _template("neo4j.conf").substitute(
            lib_dir=rt.lib,
            listen_address=settings.neo4j.listen_address,
            bolt_port=settings.neo4j.bolt_port,
            http_port=settings.neo4j.http_port,
            heap=heap,
            pagecache=settings.neo4j.pagecache,
            database=settings.neo4j.database,
        ),
    )
    for name in ("server-logs.xml", "user-logs.xml", "apoc.conf"):
        _write(conf / name, _template(name).template)
    # The plugins directory holds exactly the pinned APOC jars; earlier versions are removed.
    plugins = home / "plugins"
    wanted = {jar.name for jar in rt.plugins.glob("*.jar")}
    for jar in plugins.glob("apoc-*.jar"):
        if jar.name not in wanted:
            jar.unlink()
    for name in wanted - {jar.name for jar in plugins.glob("*.jar")}:
        shutil.copy2(rt.plugins / name, plugins / name)
    return home


# --------------------------------------------------------------------------------------- password


def _initial_password(settings: Settings) -> str:
    """``$NEO4J_PASSWORD``, the stored password, or a new one stored 0600 in the config dir."""
    try:
        return password(settings)
    except ConfigError:
        pass
    path = settings.password_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    new = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(new + "\n")
    path.chmod(0o600)
    log.info("generated a Neo4j password in %s", path)
    return new


def _require_known_password(settings: Settings) -> None:
    """A database that exists already has its password; a new one would not match it."""
    try:
        password(settings)
    except ConfigError as exc:
        raise ConfigError(
            f"the database in {settings.neo4j_home} has a password, but {PASSWORD_ENV} is not "
            f"set and {settings.password_file} is missing",
            hint=f"set {PASSWORD_ENV} to that password, or delete "
            f"{settings.neo4j_home / 'data'} to start with an empty graph",
        ) from exc


def _set_initial_password(settings: Settings, java: Java, rt: Runtime, secret: str) -> None:
    """Run ``neo4j-admin dbms set-initial-password`` with the password in an @file, not argv."""
    if len(secret) < MIN_PASSWORD_LENGTH:
        raise ConfigError(
            f"the Neo4j password must have at least {MIN_PASSWORD_LENGTH} characters",
            hint=f"choose a longer {PASSWORD_ENV}",
        )
    home = settings.neo4j_home
    # picocli reads the @file as arguments; "--" keeps a password starting with "-" positional.
    quoted = '"' + secret.replace("\\", "\\\\").replace('"', '\\"') + '"'
    with _private_file(home / "run", f"-- {quoted}\n") as args_file:
        done = subprocess.run(
            [
                str(java.executable),
                "-cp",
                f"{rt.lib}/*",
                "org.neo4j.cli.AdminTool",
                "dbms",
                "set-initial-password",
                f"@{args_file}",
            ],
            env=_java_env(settings),
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise ServerError(
            "setting the initial Neo4j password failed:\n"
            + _tail(_without_stack_frames(done.stdout + done.stderr), 10),
            hint=f"check {home / 'conf' / 'neo4j.conf'}",
        )


@contextmanager
def _private_file(directory: Path, text: str) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(dir=directory, prefix=".args-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _java_env(settings: Settings) -> dict[str, str]:
    home = settings.neo4j_home
    env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
    env.update(NEO4J_HOME=str(home), NEO4J_CONF=str(home / "conf"))
    return env


# --------------------------------------------------------------------------------------- process


def _process_args(pid: int) -> str | None:
    """The command line of a live (non-zombie) process, or None."""
    if Path("/proc/self").exists():
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return raw.replace(b"\0", b" ").decode(errors="replace") or None  # zombies: empty
    done = subprocess.run(
        ["ps", "-o", "stat=,args=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    out = done.stdout.strip()
    return out.split(None, 1)[1] if out and not out.startswith("Z") and " " in out else None


def _is_our_server(pid: int, home: Path) -> bool:
    """Whether ``pid`` is a live server of ``home``.

    A server this process launched is asked directly: just after exec its command line can
    still read as empty.
    """
    process = _launched.get(pid)
    if process is not None:
        return process.poll() is None
    args = _process_args(pid)
    return args is not None and ENTRY_POINT in args and f"--home-dir={home} " in f"{args} "


def _running_pid(settings: Settings) -> int | None:
    """The pid of this home's running server; a stale pid file is removed."""
    pid_file = _pid_file(settings)
    try:
        pid = int(pid_file.read_text().strip())
    except FileNotFoundError:
        return None
    except ValueError:
        pid_file.unlink(missing_ok=True)
        return None
    if _is_our_server(pid, settings.neo4j_home):
        return pid
    log.info("removing stale pid file %s (pid %d is not this server)", pid_file, pid)
    pid_file.unlink(missing_ok=True)
    return None


def _check_port_free(host: str, port: int, what: str, setting: str) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServerError(
                f"cannot start Neo4j: {what} port {host}:{port} is in use by another program "
                f"({exc.strerror})",
                hint=f"stop that program, or choose another port with {setting}",
            ) from exc


def status(settings: Settings) -> ServerInfo:
    """Whether this home's server process runs (does not connect to it)."""
    return _info(settings, _running_pid(settings))


def start(settings: Settings) -> ServerInfo:
    """Start the managed server (fetching it first if needed) and wait until it answers.

    Harmless when it already runs: then it waits for it to answer and reports it.
    """
    pid = _running_pid(settings)
    if pid is not None:
        version = _wait_ready(settings, pid, time.monotonic())
        return _info(settings, pid, version=version, already_running=True)
    rt = fetch(settings)
    java = find_java()
    cfg = settings.neo4j
    _check_port_free(cfg.listen_address, cfg.bolt_port, "Bolt", "KG_NEO4J__BOLT_PORT")
    _check_port_free(cfg.listen_address, cfg.http_port, "HTTP", "KG_NEO4J__HTTP_PORT")
    home = _prepare_home(settings, rt)
    if (home / "data" / "databases" / "system").exists():
        _require_known_password(settings)
    else:
        _set_initial_password(settings, java, rt, _initial_password(settings))
    classpath = f"{home / 'plugins'}/*:{home / 'conf'}/*:{rt.lib}/*"
    command = [
        str(java.executable),
        f"-Xms{cfg.heap}",
        f"-Xmx{cfg.heap}",
        *JVM_FLAGS,
        _class_data_sharing(home, java, classpath, rt),
        "-cp",
        classpath,
        ENTRY_POINT,
        f"--home-dir={home}",
        f"--config-dir={home / 'conf'}",
        "--console-mode",
    ]
    began = time.monotonic()
    with open(log_path(settings, "console"), "wb") as console:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            env=_java_env(settings),
            cwd=home,
            start_new_session=True,
        )
    _launched[process.pid] = process
    _write(_pid_file(settings), f"{process.pid}\n")
    log.info("started Neo4j (pid %d) in %s", process.pid, home)
    try:
        version = _wait_ready(settings, process.pid, began)
    except BaseException:
        _terminate(process.pid, STOP_TIMEOUT_S)
        _pid_file(settings).unlink(missing_ok=True)
        raise
    return _info(settings, process.pid, version=version, startup_s=time.monotonic() - began)


def _class_data_sharing(home: Path, java: Java, classpath: str, rt: Runtime) -> str:
    """The JVM flag for a class-data archive of this home's exact classpath (AppCDS).

    The first run writes the archive when it exits (its stop takes ~10 s longer); later runs
    map it and start ~40% faster. Any change of Java, jars or plugins selects a new archive.
    """
    plugins = sorted(jar.name for jar in (home / "plugins").glob("*.jar"))
    fetched = (rt.root / FETCH_MARKER).stat().st_mtime_ns
    stamp = f"{java.executable}|{java.version}|{classpath}|{plugins}|{fetched}"
    archive = home / "run" / f"classes-{hashlib.sha256(stamp.encode()).hexdigest()[:16]}.jsa"
    for old in archive.parent.glob("classes-*.jsa"):
        if old != archive:
            old.unlink()
    if archive.exists():
        return f"-XX:SharedArchiveFile={archive}"
    return f"-XX:ArchiveClassesAtExit={archive}"


def _wait_ready(settings: Settings, pid: int, began: float) -> str:
    """Wait until Bolt runs a query and HTTP answers; returns the server version."""
    import neo4j
    from neo4j.exceptions import AuthError, DriverError, Neo4jError

    cfg = settings.neo4j
    deadline = began + cfg.start_timeout_s
    auth = (settings.neo4j_user, password(settings))
    version: str | None = None
    last_error = "no answer yet"
    with neo4j.GraphDatabase.driver(
        _local_bolt_uri(settings), auth=auth, connection_timeout=5.0
    ) as driver:
        while True:
            if not _is_our_server(pid, settings.neo4j_home):
                raise ServerError(
                    f"Neo4j exited during startup:\n{_log_tails(settings)}",
                    hint=f"see {log_path(settings, 'debug')}",
                )
            try:
                if version is None:
                    # An auto-commit query: the driver's own retries would wait far too long.
                    with driver.session(database=cfg.database) as session:
                        record = session.run(
                            "CALL dbms.components() YIELD versions RETURN versions[0] AS v"
                        ).single(strict=True)
                    version = str(record["v"])
                if _http_ok(settings):
                    return version
                last_error = "HTTP does not answer yet"
                log.debug("Bolt ready after %.1f s, HTTP not yet", time.monotonic() - began)
            except AuthError as exc:
                raise ServerError(
                    f"Neo4j in {settings.neo4j_home} refused the password",
                    hint="the database was initialised with another password: set "
                    f"{PASSWORD_ENV} to it, or delete {settings.neo4j_home / 'data'} "
                    "to start with an empty graph",
                ) from exc
            except (DriverError, Neo4jError, OSError) as exc:
                last_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.debug("not ready after %.1f s: %s", time.monotonic() - began, last_error)
            if time.monotonic() > deadline:
                raise ServerError(
                    f"Neo4j did not answer within {cfg.start_timeout_s:.0f} s ({last_error}):\n"
                    f"{_log_tails(settings)}",
                    hint="raise KG_NEO4J__START_TIMEOUT_S on a slow machine, or read "
                    f"{log_path(settings, 'debug')}",
                )
            time.sleep(0.25)


def _http_ok(settings: Settings) -> bool:
    url = f"http://{settings.neo4j.listen_address}:{settings.neo4j.http_port}/"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def stop(settings: Settings, timeout_s: float = STOP_TIMEOUT_S) -> ServerInfo:
    """Stop the server (SIGTERM, then SIGKILL after ``timeout_s``); harmless when not running.

    Returns the server's state before stopping: ``running`` says whether there was one to stop.
    """
    pid = _running_pid(settings)
    if pid is not None:
        _terminate(pid, timeout_s)
        log.info("stopped Neo4j (pid %d)", pid)
    _pid_file(settings).unlink(missing_ok=True)
    return _info(settings, pid)


def _terminate(pid: int, timeout_s: float) -> None:
    for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        if _wait_exit(pid, wait_s):
            break
        if sig == signal.SIGTERM:
            log.warning("Neo4j (pid %d) ignored SIGTERM for %.0f s; killing it", pid, timeout_s)
    else:
        raise ServerError(f"Neo4j (pid {pid}) does not exit, even after SIGKILL")
    process = _launched.pop(pid, None)
    if process is not None:
        process.wait()


def _wait_exit(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        process = _launched.get(pid)
        if (process.poll() is not None) if process else _process_args(pid) is None:
            return True
        time.sleep(0.1)
    return False


# --------------------------------------------------------------------------------------- logs


def _without_stack_frames(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.lstrip().startswith(("at ", "... "))]


def _tail(lines: Iterable[str], n: int) -> str:
    kept = list(lines)[-n:]
    return "\n".join(f"    {line}" for line in kept)


def _log_tails(settings: Settings, n: int = 15) -> str:
    parts = []
    for name in ("console", "neo4j"):
        path = log_path(settings, name)
        try:
            lines = _without_stack_frames(path.read_text(encoding="utf-8", errors="replace"))
        except FileNotFoundError:
            continue
        if lines:
            parts.append(f"  {path}:\n{_tail(lines, n)}")
    return "\n".join(parts) or "  (no log output)"


def tail_log(settings: Settings, lines: int = 50, name: str = "neo4j") -> list[str]:
    """The last ``lines`` lines of a log file (empty if it does not exist yet)."""
    try:
        text = log_path(settings, name).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return text.splitlines()[-lines:] if lines > 0 else []


def follow_log(settings: Settings, name: str = "neo4j", poll_s: float = 0.5) -> Iterator[str]:
    """Yield complete lines as they are appended to a log file, until the caller stops."""
    path = log_path(settings, name)
    position = path.stat().st_size if path.exists() else 0
    while True:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < position:  # rotated or truncated: start over
            position = 0
        if size > position:
            with open(path, "rb") as handle:
                handle.seek(position)
                chunk = handle.read(size - position)
            complete = chunk.rpartition(b"\n")[0]
            if complete:
                position += len(complete) + 1
                yield from complete.decode("utf-8", errors="replace").splitlines()
                continue
        time.sleep(poll_s)
