"""The one configuration tree: ``defaults.toml`` < user file < ``KG_*`` environment < flags.

Validated once, at the edge, into frozen pydantic models. Secrets (the Neo4j password) come only
from the environment or a 0600 file in the user's config directory, never from this tree.
"""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kg.errors import ConfigError

ENV_PREFIX = "KG_"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PathsConfig(_Frozen):
    cache_dir: str = ""
    data_dir: str = ""
    config_dir: str = ""


class Neo4jConfig(_Frozen):
    uri: str = ""
    user: str = "neo4j"
    database: str = "neo4j"
    version: str
    apoc_version: str
    browser_version: str
    listen_address: str = "127.0.0.1"
    bolt_port: int = Field(ge=1, le=65535)
    http_port: int = Field(ge=1, le=65535)
    heap: str
    pagecache: str
    home: str = ""
    start_timeout_s: float = Field(gt=0)


class LoadConfig(_Frozen):
    batch_size: int = Field(ge=1)
    max_attempts: int = Field(ge=1)
    retry_backoff_s: float = Field(ge=0)
    retry_backoff_max_s: float = Field(ge=0)


class EutilsConfig(_Frozen):
    base_url: str
    tool: str
    email: str = ""
    rate_limit: float = Field(ge=0)
    timeout_s: float = Field(gt=0)
    max_attempts: int = Field(ge=1)
    retry_backoff_s: float = Field(ge=0)
    retry_backoff_max_s: float = Field(ge=0)
    batch_size: int = Field(ge=1, le=10_000)
    window_days: int = Field(ge=1)


class ScheduleConfig(_Frozen):
    timezone: str = ""


class ExtractConfig(_Frozen):
    recognizer: str = "default"
    lexicon: str = ""
    link: bool = True
    propagate: Literal["none", "abbreviations", "names"] = "abbreviations"
    gazetteer: bool = True
    precision: str = "auto"
    relations: str = "default"
    relation_threshold: float = Field(default=0.0, ge=0.0, le=1.0)
    most_specific_disease: bool = True
    known_relations: str = "default"
    batch_size: int = Field(ge=1)
    threads: int = Field(ge=0)
    workers: int = Field(default=1, ge=0)

    @field_validator("propagate", mode="before")
    @classmethod
    def _propagate_flag(cls, value: object) -> object:
        """Earlier configurations said true (names and short forms) or false (nothing)."""
        if isinstance(value, bool):
            return "names" if value else "none"
        return value


class Settings(_Frozen):
    paths: PathsConfig
    neo4j: Neo4jConfig
    load: LoadConfig
    eutils: EutilsConfig
    schedule: ScheduleConfig
    extract: ExtractConfig

    def _dir(self, configured: str, xdg: str, fallback: str) -> Path:
        if configured:
            return Path(configured).expanduser()
        base = os.environ.get(xdg)
        return (Path(base) if base else Path.home() / fallback) / "kg"

    @cached_property
    def cache_dir(self) -> Path:
        return self._dir(self.paths.cache_dir, "XDG_CACHE_HOME", ".cache")

    @cached_property
    def data_dir(self) -> Path:
        return self._dir(self.paths.data_dir, "XDG_DATA_HOME", ".local/share")

    @cached_property
    def config_dir(self) -> Path:
        return self._dir(self.paths.config_dir, "XDG_CONFIG_HOME", ".config")

    @property
    def neo4j_home(self) -> Path:
        return Path(self.neo4j.home).expanduser() if self.neo4j.home else self.data_dir / "neo4j"

    @property
    def managed(self) -> bool:
        """True when the graph is the project's own local server (no external URI given)."""
        return not self.bolt_uri_override

    @property
    def bolt_uri_override(self) -> str:
        return os.environ.get("NEO4J_URI") or self.neo4j.uri

    @property
    def bolt_uri(self) -> str:
        return (
            self.bolt_uri_override or f"bolt://{self.neo4j.listen_address}:{self.neo4j.bolt_port}"
        )

    @property
    def neo4j_user(self) -> str:
        return os.environ.get("NEO4J_USER") or self.neo4j.user

    @property
    def browser_url(self) -> str:
        return f"http://{self.neo4j.listen_address}:{self.neo4j.http_port}/browser/"

    @property
    def password_file(self) -> Path:
        return self.config_dir / "neo4j-password"

    @property
    def eutils_url(self) -> str:
        """E-utilities base URL: ``$KG_EUTILS_URL``, else ``eutils.base_url``."""
        return os.environ.get("KG_EUTILS_URL") or self.eutils.base_url

    @property
    def ncbi_api_key(self) -> str:
        """The NCBI API key, from the environment only (``$NCBI_API_KEY``); empty when unset."""
        return os.environ.get("NCBI_API_KEY", "")


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        out.setdefault(section, {})[key] = value
    return out


def _user_file(environ: dict[str, str]) -> Path | None:
    explicit = environ.get("KG_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"KG_CONFIG points to {path}, which is not a file")
        return path
    xdg = environ.get("XDG_CONFIG_HOME")
    path = (Path(xdg) if xdg else Path.home() / ".config") / "kg" / "config.toml"
    return path if path.is_file() else None


def load_settings(
    overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Build the settings tree; ``overrides`` are nested dicts from command-line flags."""
    env = dict(os.environ if environ is None else environ)
    tree = tomllib.loads(resources.files("kg").joinpath("defaults.toml").read_text())
    user = _user_file(env)
    if user is not None:
        try:
            tree = _deep_merge(tree, tomllib.loads(user.read_text()))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{user}: {exc}", hint="fix the TOML syntax") from exc
    tree = _deep_merge(tree, _env_overrides(env))
    tree = _deep_merge(tree, overrides or {})
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            f"invalid configuration: {problems}",
            hint="check KG_* environment variables, $KG_CONFIG and the flags",
        ) from exc
