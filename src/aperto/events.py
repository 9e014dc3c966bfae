"""The hub-to-gateway contract (docs/contracts.md): every event type and the snapshot as typed
classes. PURE: no I/O; pydantic, the standard library and aperto.errors only.

The hub builds an event from its class, stores ``event.row()`` (type, repo, user, data) in its
outbox and sends ``event.wire(seq, at)``; gateways read it back with ``parse_event``. Wire shape:
``{"seq": int, "type": str, "repo": str|null, "user": str|null, "data": {...}, "at": ISO}``.

A type this module does not know comes back as ``UnknownEvent`` (a newer hub may add types; the
gateway fails closed on it). A known type with bad fields raises ``BadInput``. Keys a newer hub
adds inside ``data`` are ignored, so additions never break older readers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from aperto.errors import BadInput

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Repo = Annotated[str, Field(min_length=1)]
Gating = Literal["open", "auto", "manual"]


class Data(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ByData(Data):
    by: str | None = None  # who did it on the hub


class GrantData(ByData):
    licensor: bool | None = None  # the grant a first publish gives the repo's licensor


class ReasonData(ByData):
    reason: str | None = None


class KillData(ByData):
    reason: str = Field(min_length=1)


class TokenCreatedData(Data):
    sha256: Sha256
    user: str
    scopes: list[str]
    expires_at: AwareDatetime | None = None  # None: until revoked; after it the token is refused like a revoked one


class TokenRevokedData(Data):
    sha256: Sha256


class GatingData(Data):
    gating: Gating


class RevisionData(ReasonData):
    revision: str = Field(min_length=1)


class RepoUpdatedData(ByData):
    revision: str | None = None  # the new commit, or the commit a branch or tag now names
    ref: str | None = None  # the branch or tag created or deleted; None for main


class Event(BaseModel):
    """What every event has. ``seq`` and ``at`` are given by the hub's outbox when it stores one."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: str
    repo: str | None = None
    user: str | None = None
    data: Any = None
    seq: int | None = None
    at: str | None = None

    def row(self) -> dict[str, Any]:
        """What the hub's outbox stores."""
        data = self.data.model_dump(mode="json", exclude_none=True) if isinstance(self.data, Data) else self.data
        return {"type": self.type, "repo": self.repo, "user": self.user, "data": data or {}}

    def wire(self, seq: int, at: str) -> dict[str, Any]:
        """The event as the feed carries it (HTTP, SSE, NATS)."""
        return {"seq": seq, **self.row(), "at": at}


class RepoEvent(Event):
    """An event about one repo (the repo is required)."""

    repo: Repo


class Grant(RepoEvent):
    type: Literal["grant"] = "grant"
    user: str
    data: GrantData = GrantData()


class Revoke(RepoEvent):
    type: Literal["revoke"] = "revoke"
    user: str
    data: ReasonData = ReasonData()


class Takedown(RepoEvent):
    type: Literal["takedown"] = "takedown"
    data: ReasonData = ReasonData()


class Restore(RepoEvent):
    type: Literal["restore"] = "restore"
    data: ReasonData = ReasonData()


class Kill(Event):
    """``repo`` None halts everything."""

    type: Literal["kill"] = "kill"
    data: KillData


class Resume(Event):
    type: Literal["resume"] = "resume"
    data: ByData = ByData()


class TokenCreated(Event):
    type: Literal["token-created"] = "token-created"
    data: TokenCreatedData


class TokenRevoked(Event):
    type: Literal["token-revoked"] = "token-revoked"
    data: TokenRevokedData


class GatingChanged(RepoEvent):
    """Sent when a repo is first published or its gating mode changes."""

    type: Literal["gating"] = "gating"
    data: GatingData


class RevisionTakedown(RepoEvent):
    """One commit withdrawn; the model as a whole stays available."""

    type: Literal["revision-takedown"] = "revision-takedown"
    data: RevisionData


class RevisionRestore(RepoEvent):
    type: Literal["revision-restore"] = "revision-restore"
    data: RevisionData


class RepoUpdated(RepoEvent):
    """A repo's files or refs changed (a commit, a branch or tag created or deleted). Nothing a
    gateway enforces changes; hub replicas forget their cached metadata of the repo."""

    type: Literal["repo-updated"] = "repo-updated"
    data: RepoUpdatedData = RepoUpdatedData()


class UnknownEvent(Event):
    """A type this version does not know; type and repo are kept so a reader can fail closed on it."""

    data: dict[str, Any] = {}


KNOWN: tuple[type[Event], ...] = (Grant, Revoke, Takedown, Restore, Kill, Resume, TokenCreated, TokenRevoked,
                                  GatingChanged, RevisionTakedown, RevisionRestore, RepoUpdated)
EVENT_TYPES: frozenset[str] = frozenset(cls.model_fields["type"].default for cls in KNOWN)
KnownEvent = Annotated[Grant | Revoke | Takedown | Restore | Kill | Resume | TokenCreated | TokenRevoked
                       | GatingChanged | RevisionTakedown | RevisionRestore | RepoUpdated,
                       Field(discriminator="type")]
_KNOWN: TypeAdapter[Event] = TypeAdapter(KnownEvent)


def _problems(exc: ValidationError, skip: int = 0) -> str:
    """Each problem as ``field.path: message`` (``skip`` drops the union's tag from the path)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'][skip:]) or 'event'}: {e['msg']}" for e in exc.errors())


def parse_row(raw: Any) -> Event:
    """An event without seq and at (as the hub's outbox stores it, or a test builds it)."""
    if not isinstance(raw, dict):
        raise BadInput(f"an event must be a JSON object, got {type(raw).__name__}")
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind:
        raise BadInput("an event needs a 'type' string", repo=raw.get("repo"))
    if kind not in EVENT_TYPES:
        try:
            return UnknownEvent.model_validate(raw)
        except ValidationError as exc:
            raise BadInput(f"malformed {kind!r} event: {_problems(exc)}", repo=raw.get("repo")) from exc
    try:
        return _KNOWN.validate_python({**raw, "data": raw.get("data") or {}})
    except ValidationError as exc:
        raise BadInput(f"malformed {kind!r} event (seq {raw.get('seq')}): {_problems(exc, skip=1)}",
                       hint="the hub and this reader disagree on the contract; see docs/contracts.md",
                       repo=raw.get("repo")) from exc


def parse_event(raw: Any) -> Event:
    """One event from the feed; it must carry its ``seq``."""
    event = parse_row(raw)
    if event.seq is None:
        raise BadInput(f"a {event.type!r} event from the feed has no 'seq'", repo=event.repo)
    return event


class KillEntry(BaseModel):
    repo: str | None = None
    reason: str = "halted"
    at: str | None = None


class GrantEntry(BaseModel):
    user: str
    repo: Repo


class TokenEntry(BaseModel):
    sha256: Sha256
    user: str = ""
    scopes: list[str] = []
    expires_at: AwareDatetime | None = None


class Snapshot(BaseModel):
    """``GET /api/gateway/state``: everything a gateway needs to start from scratch (also the shape of a
    standalone gateway's policy file). ``open_repos``: models any valid token may use."""

    model_config = ConfigDict(extra="ignore")

    seq: int = 0
    kills: list[KillEntry] = []
    takedowns: list[str] = []
    open_repos: list[str] = []
    grants: list[GrantEntry] = []
    tokens: list[TokenEntry] = []

    def wire(self) -> dict[str, Any]:
        out = self.model_dump(mode="json")
        for token in out["tokens"]:  # a token without expiry has the shape it had before expiry existed
            if token["expires_at"] is None:
                del token["expires_at"]
        return out


def parse_snapshot(raw: Any) -> Snapshot:
    try:
        return Snapshot.model_validate(raw)
    except ValidationError as exc:
        raise BadInput(f"malformed policy snapshot: {_problems(exc)}",
                       hint="it must have the shape of GET /api/gateway/state (docs/contracts.md)") from exc


# ---- usage: what gateways report to the hub (POST /api/usage), kept per licensee, model and day ----
class UsageLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")  # UTC
    user: str = Field(min_length=1, max_length=200)
    repo: Repo
    requests: int = Field(ge=0)
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)


class UsageReport(BaseModel):
    """One gateway's counts since its last report. ``id`` makes a retried report count once."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    lines: list[UsageLine] = Field(max_length=10_000)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def parse_usage(raw: Any) -> UsageReport:
    try:
        return UsageReport.model_validate(raw)
    except ValidationError as exc:
        raise BadInput(f"malformed usage report: {_problems(exc)}",
                       hint="it must have the shape of events.UsageReport (docs/fleet.md)") from exc
