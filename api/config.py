"""Settings from the environment (``GRIDLINK_`` prefix), validated once at start-up."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from api.i18n import _

if TYPE_CHECKING:
    from api.warnings.rules import RiskRules

DEFAULT_DATABASE_URL = "sqlite:///./var/gridlink.db"


class SettingsError(ValueError):
    """A setting has a bad value; the message names the variable."""


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(_("{name} must be true or false, got {raw!r}", name=name, raw=raw))


def _parse_int(name: str, raw: str, *, minimum: int, maximum: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(
            _("{name} must be a whole number, got {raw!r}", name=name, raw=raw)
        ) from None
    if not minimum <= value <= maximum:
        raise SettingsError(
            _(
                "{name} must be between {minimum} and {maximum}, got {value}",
                name=name,
                minimum=minimum,
                maximum=maximum,
                value=value,
            )
        )
    return value


def parse_duration(name: str, raw: str) -> int:
    """Seconds from '90d', '12h', '30m', '45s' or a bare number of seconds."""
    text = raw.strip().lower()
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    try:
        seconds = int(text[:-1]) * units[text[-1]] if text and text[-1] in units else int(text)
    except ValueError:
        raise SettingsError(
            _(
                "{name} must be a duration such as 90d, 12h, 30m or 45s, got {raw!r}",
                name=name,
                raw=raw,
            )
        ) from None
    if seconds <= 0:
        raise SettingsError(_("{name} must be positive, got {raw!r}", name=name, raw=raw))
    return seconds


def _check_database_url(name: str, raw: str) -> str:
    url = raw.strip()
    if not url.startswith(("sqlite:", "sqlite+", "postgresql:", "postgresql+", "postgres:")):
        raise SettingsError(
            _(
                "{name} must be a sqlite:///path or postgresql://user@host/db URL, got {raw!r}",
                name=name,
                raw=raw,
            )
        )
    return url


def _risk_rules_text(name: str, raw: str) -> str:
    """JSON overrides of the risk weights, given inline or as @/path/to/file.json."""
    text = raw.strip()
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as error:
            raise SettingsError(
                _(
                    "{name}: cannot read {text}: {strerror}",
                    name=name,
                    text=text[1:],
                    strerror=error.strerror,
                )
            ) from None
    try:
        overrides = json.loads(text)
    except ValueError as error:
        raise SettingsError(
            _("{name} is not valid JSON: {error}", name=name, error=error)
        ) from None
    if not isinstance(overrides, dict):
        raise SettingsError(_("{name} must be a JSON object of weights", name=name))
    from api.warnings.rules import rules_from_overrides  # the rule knows its own weights

    try:
        rules_from_overrides(overrides)
    except ValueError as error:
        raise SettingsError(f"{name}: {error}") from None
    return text


def _parse_origins(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated web origins, normalised as browsers send them in `Origin`."""
    from strawberry.http.websocket_origin import normalize_allowed_origins

    listed = [part.strip() for part in raw.split(",") if part.strip()]
    try:
        return tuple(sorted(normalize_allowed_origins(listed)))
    except ValueError:
        raise SettingsError(
            _(
                "{name} must be origins such as https://app.example.org (scheme, host, optional "
                "port; no path), separated by commas, or *, got {raw!r}",
                name=name,
                raw=raw,
            )
        ) from None


def _host_patterns(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated host names; ``*.example.org`` allows every name below example.org."""
    patterns = []
    for item in raw.split(","):
        pattern = item.strip().lower().rstrip(".")
        if not pattern:
            continue
        bare = pattern.removeprefix("*.")
        if "*" in bare or "/" in bare or ":" in bare or "." not in bare:
            raise SettingsError(
                _(
                    "{name} takes host names such as push.example.org or *.example.org, got "
                    "{value!r}",
                    name=name,
                    value=item.strip(),
                )
            )
        patterns.append(pattern)
    return tuple(patterns)


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    token_lifetime_seconds: int = 30 * 86400
    max_page_size: int = 100
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_body_bytes: int = 256 * 1024
    sync_retention_seconds: int = 90 * 86400
    run_worker_in_process: bool = True
    vapid_private_key: str | None = None
    vapid_subject: str = "mailto:admin@gridlink.invalid"
    push_allow_insecure_endpoints: bool = False
    redis_url: str | None = None
    # Overrides of the early-warning weights (api/warnings/rules.py), as JSON.
    risk_rules_json: str | None = None
    # Planned execution of the hot list queries (schema/fastpath.py); off: every query runs
    # through graphql-core's executor (the benchmark measures both).
    graphql_fast_path: bool = True
    # Attachments (sync2): the largest file accepted, where the files live — a directory,
    # or an S3-compatible store by URL (s3://[key:secret@]bucket[/prefix]?endpoint=...&region=...)
    # which then wins over the directory.
    max_attachment_bytes: int = 20 * 1024 * 1024
    media_dir: str = "./var/media"
    media_url: str | None = None
    # Interop: the web origins (scheme://host[:port]) whose pages may call the API, for CORS
    # preflights and WebSocket handshakes alike; empty: same origin only; "*" in development.
    cors_origins: tuple[str, ...] = ()
    # --- operations (perf, api/ops/): compression, metrics, logs, processes ---------------
    compression: bool = True
    compress_min_bytes: int = 1024
    # None: on in development, off in production (GRIDLINK_METRICS=true turns it on there).
    metrics: bool | None = None
    # None: JSON lines in production, readable lines in development.
    log_format: str | None = None
    slow_ms: int = 500
    workers: int = 1
    # Hardening (issue 10): query cost, response size and time per request, push endpoint
    # hosts, login throttling. See docs/api.md "Security".
    max_query_cost: int = 200_000
    max_response_bytes: int = 8 * 1024 * 1024
    max_request_seconds: int = 30
    push_allowed_hosts: tuple[str, ...] = ()
    # The HTML pages' Content-Security-Policy; None: api/edge/security_headers.py's default.
    content_security_policy: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "*" in self.cors_origins and self.production:
            raise SettingsError(
                _(
                    "GRIDLINK_CORS_ORIGINS='*' lets every web site call the API: it is allowed in "
                    "development only; list the origins of your frontends instead"
                )
            )
        # The push test/dev escape (http and local endpoints) can never run in production.
        if self.production and self.push_allow_insecure_endpoints:
            raise SettingsError(
                _(
                    "GRIDLINK_PUSH_ALLOW_INSECURE_ENDPOINTS is for tests and development only; "
                    "it cannot be set with GRIDLINK_ENV=production"
                )
            )

    @cached_property
    def risk_rules(self) -> RiskRules:
        from api.warnings.rules import DEFAULT_RULES, rules_from_overrides

        if not self.risk_rules_json:
            return DEFAULT_RULES
        return rules_from_overrides(json.loads(self.risk_rules_json))

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def metrics_enabled(self) -> bool:
        return (not self.production) if self.metrics is None else self.metrics

    @property
    def json_logs(self) -> bool:
        return self.production if self.log_format is None else self.log_format == "json"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every GRIDLINK_ variable; a bad one raises SettingsError."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}

        def get(key: str) -> str | None:
            return env.get(f"GRIDLINK_{key}")

        if (raw := get("DATABASE_URL")) is not None:
            values["database_url"] = _check_database_url("GRIDLINK_DATABASE_URL", raw)
        if (raw := get("ENV")) is not None:
            if raw not in {"development", "production"}:
                raise SettingsError(
                    _("GRIDLINK_ENV must be development or production, got {raw!r}", raw=raw)
                )
            values["env"] = raw
        if (raw := get("HOST")) is not None:
            values["host"] = raw
        if (raw := get("PORT")) is not None:
            values["port"] = _parse_int("GRIDLINK_PORT", raw, minimum=1, maximum=65535)
        if (raw := get("TOKEN_LIFETIME")) is not None:
            values["token_lifetime_seconds"] = parse_duration("GRIDLINK_TOKEN_LIFETIME", raw)
        if (raw := get("MAX_PAGE_SIZE")) is not None:
            values["max_page_size"] = _parse_int(
                "GRIDLINK_MAX_PAGE_SIZE", raw, minimum=1, maximum=1000
            )
        if (raw := get("MAX_QUERY_DEPTH")) is not None:
            values["max_query_depth"] = _parse_int(
                "GRIDLINK_MAX_QUERY_DEPTH", raw, minimum=2, maximum=50
            )
        if (raw := get("MAX_BODY_BYTES")) is not None:
            values["max_body_bytes"] = _parse_int(
                "GRIDLINK_MAX_BODY_BYTES", raw, minimum=1024, maximum=64 * 1024 * 1024
            )
        if (raw := get("SYNC_RETENTION")) is not None:
            values["sync_retention_seconds"] = parse_duration("GRIDLINK_SYNC_RETENTION", raw)
        if (raw := get("RUN_WORKER_IN_PROCESS")) is not None:
            values["run_worker_in_process"] = _parse_bool("GRIDLINK_RUN_WORKER_IN_PROCESS", raw)
        if (raw := get("VAPID_PRIVATE_KEY")) is not None:
            values["vapid_private_key"] = raw.strip() or None
        if (raw := get("VAPID_SUBJECT")) is not None:
            if not raw.startswith(("mailto:", "https://")):
                raise SettingsError(
                    _(
                        "GRIDLINK_VAPID_SUBJECT must start with mailto: or https://, got {raw!r}",
                        raw=raw,
                    )
                )
            values["vapid_subject"] = raw
        if (raw := get("PUSH_ALLOW_INSECURE_ENDPOINTS")) is not None:
            values["push_allow_insecure_endpoints"] = _parse_bool(
                "GRIDLINK_PUSH_ALLOW_INSECURE_ENDPOINTS", raw
            )
        if (raw := get("REDIS_URL")) is not None:
            values["redis_url"] = raw.strip() or None
        if (raw := get("RISK_RULES")) is not None and raw.strip():
            values["risk_rules_json"] = _risk_rules_text("GRIDLINK_RISK_RULES", raw)
        if (raw := get("GRAPHQL_FAST_PATH")) is not None:
            values["graphql_fast_path"] = _parse_bool("GRIDLINK_GRAPHQL_FAST_PATH", raw)
        if (raw := get("MAX_ATTACHMENT_BYTES")) is not None:
            values["max_attachment_bytes"] = _parse_int(
                "GRIDLINK_MAX_ATTACHMENT_BYTES", raw, minimum=1024, maximum=2 * 1024**3
            )
        if (raw := get("MEDIA_DIR")) is not None:
            if not raw.strip():
                raise SettingsError(_("GRIDLINK_MEDIA_DIR must be a directory path"))
            values["media_dir"] = raw.strip()
        if (raw := get("MEDIA_URL")) is not None and raw.strip():
            if not raw.strip().startswith("s3://"):
                raise SettingsError(
                    _(
                        "GRIDLINK_MEDIA_URL must be s3://bucket[/prefix]?endpoint=..., got {raw!r}",
                        raw=raw,
                    )
                )
            values["media_url"] = raw.strip()
        if (raw := get("CORS_ORIGINS")) is not None:
            values["cors_origins"] = _parse_origins("GRIDLINK_CORS_ORIGINS", raw)
        # operations (perf)
        if (raw := get("COMPRESSION")) is not None:
            values["compression"] = _parse_bool("GRIDLINK_COMPRESSION", raw)
        if (raw := get("COMPRESS_MIN_BYTES")) is not None:
            values["compress_min_bytes"] = _parse_int(
                "GRIDLINK_COMPRESS_MIN_BYTES", raw, minimum=0, maximum=64 * 1024 * 1024
            )
        if (raw := get("METRICS")) is not None:
            values["metrics"] = _parse_bool("GRIDLINK_METRICS", raw)
        if (raw := get("LOG_FORMAT")) is not None:
            if raw not in {"json", "text"}:
                raise SettingsError(
                    _("GRIDLINK_LOG_FORMAT must be json or text, got {raw!r}", raw=raw)
                )
            values["log_format"] = raw
        if (raw := get("SLOW_MS")) is not None:
            values["slow_ms"] = _parse_int("GRIDLINK_SLOW_MS", raw, minimum=1, maximum=3_600_000)
        if (raw := get("WORKERS")) is not None:
            values["workers"] = _parse_int("GRIDLINK_WORKERS", raw, minimum=1, maximum=64)
        # Hardening (issue 10).
        if (raw := get("MAX_QUERY_COST")) is not None:
            values["max_query_cost"] = _parse_int(
                "GRIDLINK_MAX_QUERY_COST", raw, minimum=100, maximum=100_000_000
            )
        if (raw := get("MAX_RESPONSE_BYTES")) is not None:
            values["max_response_bytes"] = _parse_int(
                "GRIDLINK_MAX_RESPONSE_BYTES", raw, minimum=64 * 1024, maximum=1024 * 1024 * 1024
            )
        if (raw := get("MAX_REQUEST_SECONDS")) is not None:
            values["max_request_seconds"] = _parse_int(
                "GRIDLINK_MAX_REQUEST_SECONDS", raw, minimum=1, maximum=3600
            )
        if (raw := get("PUSH_ALLOWED_HOSTS")) is not None:
            values["push_allowed_hosts"] = _host_patterns("GRIDLINK_PUSH_ALLOWED_HOSTS", raw)
        if (raw := get("CONTENT_SECURITY_POLICY")) is not None:
            values["content_security_policy"] = raw.strip() or None
        return cls(**values)  # type: ignore[arg-type]

    def sqlite_path(self) -> Path | None:
        """The file behind a sqlite URL, so that its folder can be made before connecting."""
        if not self.is_sqlite:
            return None
        _scheme, _sep, path = self.database_url.partition(":///")
        if not path or path == ":memory:":
            return None
        return Path(path)
