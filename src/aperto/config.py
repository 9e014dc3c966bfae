"""Settings, declared once. Read from APERTO_* environment variables when
``Settings()`` is constructed, never at import time."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "aperto"


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents owner-only (0700): the data dir holds the database,
    tokens, keys and gated weights. Folders that already exist keep their mode (see the warning
    of ``aperto up``); ``Path.mkdir(parents=True)`` would give new parents the umask's mode."""
    path = Path(path)
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
    return missing[0] if missing else path


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APERTO_", extra="ignore")

    # where everything lives by default
    data_dir: Path = Field(default_factory=default_data_dir, description="State folder: database, blobs, gateway state.")

    # hub
    database_url: str | None = Field(None, description="SQLAlchemy URL; default is SQLite (WAL) under data_dir.")
    hub_host: str = Field("127.0.0.1", description="Address the hub listens on.")
    hub_port: int = Field(8600, description="Port the hub listens on.")
    hub_url: str = Field("http://127.0.0.1:8600", description="Where gateways and the CLI find the hub.")
    max_upload_bytes: int = Field(64 * 1024**3, description="Largest single file the hub accepts.")
    max_body_bytes: int = Field(
        8 * 1024**2, ge=1024, description="Largest request body the hub reads, uploads aside (they stream to disk); "
                                          "a larger one is refused with 413 before it is read.")
    accel_redirect: str | None = Field(None, description="Hub: answer authorised downloads with X-Accel-Redirect to this nginx internal prefix (e.g. /internal-blobs/).")
    web_session_hours: float = Field(12.0, gt=0, description="Hub: how long a browser sign-in lasts.")
    web_secret: str | None = Field(None, description="Hub: key signing the sign-in form's CSRF token; replicas behind "
                                                     "one address need the same (default: a random key in data_dir/web).")
    webhook_private_targets: bool = Field(False, description="Hub: let webhooks post to loopback and private "
                                                             "addresses (off: a licensor cannot probe the hub's network).")
    blob_scrub_interval_s: float = Field(
        86400.0, ge=0, description="Hub: re-hash every stored blob this often in a low-priority thread of "
                                   "`aperto hub` / `aperto up`, quarantining those whose bytes no longer match (0: off).")

    # fleet (docs/fleet.md)
    nats_url: str | None = Field(None, description="NATS server with JetStream: the hub relays its events to stream "
                                                   "APERTO_EVENTS and gateways follow it (default: the HTTP feed).")
    nats_heartbeat_s: float = Field(5.0, gt=0, description="How often the relay publishes aperto.heartbeat.")
    blob_url: str | None = Field(None, description="Hub: keep blobs in this S3 bucket (s3://BUCKET) instead of "
                                                   "data_dir/blobs; downloads redirect to presigned URLs.")
    s3_endpoint: str | None = Field(None, description="Hub: the S3 API's URL (SeaweedFS, MinIO...); clients fetch "
                                                      "presigned URLs from it too, unless s3_public_endpoint is set.")
    s3_public_endpoint: str | None = Field(None, description="Hub: the S3 URL that presigned download URLs are signed "
                                                             "for, when clients reach S3 at another address than the "
                                                             "hub does (a public name, a proxy); default: s3_endpoint.")
    s3_region: str = Field("us-east-1", description="Hub: the S3 region presigned URLs are signed for.")
    s3_access_key: str | None = Field(None, description="Hub: S3 access key (default: AWS_ACCESS_KEY_ID).")
    s3_secret_key: str | None = Field(None, description="Hub: S3 secret key (default: AWS_SECRET_ACCESS_KEY).")
    blob_url_ttl_s: int = Field(60, ge=1, le=3600, description="Hub: lifetime of a presigned download URL: how long "
                                                                "someone whose access was revoked can still use one.")

    # gateway
    gateway_host: str = Field("127.0.0.1", description="Address the gateway listens on.")
    gateway_port: int = Field(8700, description="Port the gateway listens on.")
    gateway_url: str = Field("http://127.0.0.1:8700/v1", description="OpenAI-compatible base URL used by evals.")
    staleness_limit_s: float = Field(30.0, description="Refuse to serve after this long without word from the hub.")
    policy_file: Path | None = Field(None, description="Standalone (air-gapped) gateway: local grants/kills file.")
    n_threads: int = Field(2, description="llama.cpp threads per model.")
    n_ctx: int = Field(2048, description="llama.cpp context size.")
    max_prompt_chars: int = Field(100_000, description="Longest prompt the gateway accepts.")
    gateway_model: str = Field("HuggingFaceTB/SmolLM2-135M-Instruct",
                               description="Name (hub repo id) under which the bundled SmolLM2 GGUF is served.")
    gateway_models: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description='Model map: name -> {"backend": "llamacpp", "path": GGUF} or '
                    '{"backend": "upstream", "url": BASE_URL, "model": NAME, "api_key": KEY}.')
    gateway_parallel: int = Field(8, description="Requests llama.cpp decodes at once per model (slots).")
    gateway_prompt_cache_mib: int = Field(
        256, ge=0, description="RAM per model for llama.cpp's cache of earlier prompts, in MiB (0: off). "
                               "llama.cpp's own default, 8192, grew `aperto up` past 5 GiB in one HumanEval run.")
    gateway_direct_write: bool = Field(
        True, description="Let llama.cpp's thread write each streamed chunk to the client's socket itself "
                          "(uvicorn, plain HTTP), instead of waking the event loop for every token; a slow "
                          "client falls back to the loop.")
    gateway_relay_slice_us: int = Field(
        100, ge=0, description="Scheduler slice, in microseconds, that the threads carrying tokens to clients ask "
                               "for (Linux 6.12+), so they run as soon as a token is ready instead of after a "
                               "busy llama.cpp thread's slice (0: the kernel's default).")

    # token used by the CLI / gateway to talk to the hub
    token: str | None = Field(None, description="Hub token for CLI calls and gateway subscription.")

    def state_dir(self, name: str) -> Path:
        return private_dir(self.data_dir / name)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'hub.sqlite3'}"
