"""Access requests and grants. An attestation becomes a policy Decision, which becomes a
grant, a place in the licensor's queue, or a refusal with its clause.

Every submission and every licensor decision is a new version in an append-only history.
Once a request waits for the licensor, or the licensor rejected or revoked it, only the
licensor decides again: re-submitting can never reach an automatic grant. A re-submission
by someone holding a grant never removes it silently: it is unchanged, or goes to the
licensor with the grant kept until they decide."""

from __future__ import annotations

from typing import Any, cast

from aperto import events
from aperto.errors import BadInput, NotFound
from aperto.hub import licensing
from aperto.hub.auth import Caller, check_name, iso, need, utcnow
from aperto.hub.core import Core, audit, emit
from aperto.hub.gate import find_repo, has_grant, is_owner, need_owner
from aperto.hub.i18n import N_
from aperto.hub.listing import card_answers, card_metadata
from aperto.hub.tokens import find_user
from aperto.policy import Profile, Use
from aperto.policy.messages import Phrase, values_to_json
from aperto.store import Session
from aperto.store import access as rows
from aperto.store import repos as repo_rows
from aperto.store.models import AccessVersion, File, Repo, User

STATUSES = ("pending", "accepted", "rejected")
FLAGS = ("train_other_models", "accepts_aup", "redistribute", "publish_finetune", "multimodal", "hosted_service")


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def clean_attestation(fields: Any) -> tuple[dict[str, Any], Profile]:
    """The self-declared attestation, validated once, by ``Profile`` (nobody can verify MAU;
    we record what was declared). Returns the stored form and the profile."""
    if not isinstance(fields, dict):
        raise BadInput(N_("the attestation must be a JSON object"))
    counts: dict[str, int] = {}
    for name in ("mau", "affiliates_mau"):
        value = fields.get(name) or 0
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadInput(N_("%(field)s must be a whole number"), hint=N_("e.g. 800000000"), values={"field": name},
                           field=name)
        counts[name] = value
    flags = {name: _flag(fields.get(name, False)) for name in FLAGS}
    if not flags["accepts_aup"]:
        raise BadInput(N_("you must accept the licence and its acceptable-use policy"), field="accepts_aup")
    derivative = str(fields.get("derivative_name") or "")[:200] or None
    profile = Profile(mau=counts["mau"], affiliates_mau=counts["affiliates_mau"],
                      use=cast(Use, fields.get("use") or "commercial"),  # Profile checks and converts it
                      country=fields.get("country") or None,
                      derivative_name=derivative, **flags)
    stored = {"org": str(fields.get("org") or "")[:200], **profile.to_dict()}
    stored["country"] = stored["country"] or ""
    stored.pop("annual_revenue_usd", None)
    if stored["derivative_name"] is None:
        stored.pop("derivative_name")
    return stored, profile


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """What differs from the previous declaration, field by field."""
    if before is None:
        return []
    keys = sorted(set(before) | set(after))
    return [{"field": k, "before": before.get(k), "after": after.get(k)} for k in keys if before.get(k) != after.get(k)]


def version_dict(v: AccessVersion, user: str) -> dict[str, Any]:
    return {"version": v.version, "kind": v.kind, "user": user, "status": v.status, "reason": v.reason,
            **reason_template(v), "decided_by": v.decided_by, "fields": v.fields, "decision": v.decision, "changes": v.changes or [],
            "license_sha256": v.license_sha256, "at": iso(v.created_at)}


def reason_template(v: AccessVersion) -> dict[str, Any]:
    """The reason's template and values, for the pages to say it in their language (None: a row
    from before they were stored; "": a licensor's own words)."""
    return {"reason_msgid": v.reason_msgid, "reason_values": v.reason_values}


# What the hub says of a request, in English; each row stores its template and values, which the
# pages translate (routes/web_format.request_reason), so each wording lives here only.
GRANTED = N_("granted automatically: %(why)s")
STILL_GRANTED = N_("still granted automatically: %(why)s")
WAITING = N_("waiting for the licensor: %(why)s")
WAITING_MANUAL = N_("waiting for the licensor (manual review)")
CHANGED = N_("the declaration changed; the licensor decides again, and your access stays until they do: %(why)s")
UNCHANGED = N_("unchanged: the declaration is the same as before; the grant stands")
PROHIBITED = N_("the licence prohibits this use")
BECAUSE = N_("%(why)s")  # the policy's reasons alone
RESUBMITTED = {  # (the status the licensor holds it in, whether the grant still stands)
    ("pending", False): N_("re-submitted while waiting for the licensor; only the licensor can decide: %(why)s"),
    ("pending", True): N_("re-submitted while waiting for the licensor; only the licensor can decide; your access stays until they decide: %(why)s"),  # noqa: E501
    ("rejected", False): N_("re-submitted while rejected by the licensor; only the licensor can decide: %(why)s"),
    ("rejected", True): N_("re-submitted while rejected by the licensor; only the licensor can decide; your access stays until they decide: %(why)s"),  # noqa: E501
}
DECIDED = {"accepted": N_("accepted by the licensor"), "pending": N_("back to review"),
           "rejected": N_("rejected by the licensor"), "reset": N_("reset by the licensor")}
GRANTED_BY_LICENSOR = N_("granted by the licensor")
REVOKED = N_("revoked by the licensor")
REQUEST_REASONS = (GRANTED, STILL_GRANTED, WAITING, WAITING_MANUAL, CHANGED, UNCHANGED, *RESUBMITTED.values(),
                   BECAUSE, PROHIBITED, *DECIDED.values(), GRANTED_BY_LICENSOR, REVOKED)


def licensor_reason(typed: str | None, template: str) -> Phrase | str:
    """A licensor's reason: their own words as typed (at most 2,000 characters), else the hub's template."""
    return typed[:2000] if typed else Phrase(template)


def english(reason: Phrase | str) -> str:
    return reason.text if isinstance(reason, Phrase) else reason


def licensor_decides(prev: AccessVersion | None) -> bool:
    """A request waiting for the licensor, or one the licensor rejected or revoked, is theirs."""
    if prev is None:
        return False
    return prev.status == "pending" or (prev.status == "rejected" and prev.decided_by not in (None, "policy"))


class Access:
    def __init__(self, core: Core) -> None:
        self.core = core

    # ---- grants ------------------------------------------------------------------
    def _grant(self, s: Session, repo: Repo, user: User, by: str, obligations: list | None) -> bool:
        """Give a live grant (idempotent). Returns True if a new one was made."""
        if rows.live_grants(s, repo_id=repo.id, user_id=user.id):
            return False
        rows.add_grant(s, repo_id=repo.id, user_id=user.id, by=by, obligations=obligations)
        emit(s, events.Grant(repo=repo.name, user=user.name, data=events.GrantData(by=by)))
        audit(s, by, "grant", f"repo:{repo.name}", None, {"user": user.name, "obligations": obligations})
        return True

    def _revoke(self, s: Session, repo: Repo, user: User, by: str, reason: str) -> bool:
        live = rows.live_grants(s, repo_id=repo.id, user_id=user.id)
        for grant in live:
            grant.revoked_at = utcnow()
        if live:
            emit(s, events.Revoke(repo=repo.name, user=user.name, data=events.ReasonData(by=by, reason=reason)))
            audit(s, by, "revoke", f"repo:{repo.name}", {"user": user.name, "granted": True},
                  {"user": user.name, "granted": False, "reason": reason})
        return bool(live)

    @staticmethod
    def _licence_sha(files: list[File]) -> str | None:
        return next((f.sha256 for f in files if licensing.is_licence_text(f.path)), None)

    # ---- the requester -------------------------------------------------------------
    def request_access(self, caller: Caller | None, name: str, fields: Any) -> dict:
        caller = need(caller, "read")
        attestation, profile = clean_attestation(fields)
        with self.core.write() as s:
            repo = find_repo(s, name)
            user = find_user(s, caller.name)
            if repo.gating == "open":
                raise BadInput(N_("%(repo)s is not gated: anyone may download it"), values={"repo": name})
            # the card's own questions (extra_gated_fields) and the prompt shown, kept with the answers
            files = repo_rows.files(s, commit_id=repo.main) if repo.main else []
            card = card_metadata(self.core, files)
            attestation.update(card_answers(card, fields))
            prev = rows.latest(s, repo_id=repo.id, user_id=user.id)
            last_submission = rows.latest(s, repo_id=repo.id, user_id=user.id, kind="submission")
            diff = changes(last_submission.fields if last_submission else None, attestation)
            holds = bool(rows.live_grants(s, repo_id=repo.id, user_id=user.id))
            decision = licensing.evaluate(repo.license_id, profile)
            status, reason, decided_by = self._route(repo, prev, holds, bool(diff), decision)
            version = rows.append(s, repo_id=repo.id, user_id=user.id, kind="submission", fields=attestation,
                                  decision=decision, status=status, reason=reason.text, decided_by=decided_by,
                                  reason_msgid=reason.msgid, reason_values=values_to_json(reason.values),
                                  changes=diff, license_sha256=self._licence_sha(files))
            audit(s, caller.name, "access.request", f"repo:{name}",
                  {"status": prev.status} if prev else None,
                  {"user": user.name, "attestation": attestation, "license": repo.license_id,
                   "license_sha256": version.license_sha256, "version": version.version})
            audit(s, decided_by or "policy", "access.decision", f"repo:{name}", None,
                  {"user": user.name, "outcome": decision.get("outcome"), "status": status,
                   "reasons": decision.get("reasons", [])})
            if status == "accepted":
                self._grant(s, repo, user, "policy", decision.get("obligations"))
            return {"repo": name, **version_dict(version, user.name), "access": holds or status == "accepted",
                    "created_at": iso(version.created_at), "updated_at": iso(version.created_at)}

    @staticmethod
    def _route(repo: Repo, prev: AccessVersion | None, holds: bool, changed: bool,
               decision: dict[str, Any]) -> tuple[str, Phrase, str | None]:
        """(status, reason, decided_by) for a new submission."""
        outcome = decision.get("outcome", "needs_licensor_grant")
        why = licensing.first_reason(decision) or outcome
        automatic_yes = outcome in ("allowed", "allowed_with_obligations") and repo.gating == "auto"
        if licensor_decides(prev):
            assert prev is not None
            return "pending", Phrase(RESUBMITTED[prev.status, holds], {"why": why}), None
        if holds and not changed:
            return "accepted", Phrase(UNCHANGED), "policy"
        if holds:
            if automatic_yes:
                return "accepted", Phrase(STILL_GRANTED, {"why": why}), "policy"
            return "pending", Phrase(CHANGED, {"why": why}), None
        if outcome == "prohibited":
            return "rejected", Phrase(BECAUSE, {"why": why}) if why else Phrase(PROHIBITED), "policy"
        if automatic_yes:
            return "accepted", Phrase(GRANTED, {"why": why}), "policy"
        if repo.gating == "manual":
            return "pending", Phrase(WAITING_MANUAL), None
        return "pending", Phrase(WAITING, {"why": why}), None

    def my_request(self, caller: Caller | None, name: str) -> dict:
        caller = need(caller, "read")
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            history = rows.history(s, repo_id=repo.id, user_id=caller.user_id)
            if not history:
                raise NotFound(N_("you have not asked for access to %(repo)s"), values={"repo": name})
            last, user = history[-1]
            first = history[0][0]
            out = {"repo": name, **version_dict(last, user), "created_at": iso(first.created_at),
                   "updated_at": iso(last.created_at)}
            out["access"] = has_grant(s, repo, caller) or is_owner(caller, repo)
            out["history"] = [version_dict(v, u) for v, u in history]
            return out

    # ---- the licensor -----------------------------------------------------------------
    def list_requests(self, caller: Caller | None, name: str, status: str) -> list[dict]:
        """The licensor's queue, shaped like HF's user-access-request lists."""
        if status not in STATUSES:
            raise BadInput(N_("status must be one of %(statuses)s"), values={"statuses": str(STATUSES)})
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            need_owner(caller, repo)
            granted = {name for g, name in rows.grants_of_repo(s, repo_id=repo.id) if g.revoked_at is None}
            return [{"user": {"user": u.name, "fullname": u.name, "email": None},
                     "requestId": f"{u.id}.{v.version}", "status": v.status, "timestamp": iso(v.created_at),
                     "fields": v.fields, "reason": v.reason, **reason_template(v), "decision": v.decision, "changes": v.changes or [],
                     "version": v.version, "reviewer": v.decided_by,
                     "reviewedAt": iso(v.created_at) if v.decided_by else None,
                     "access": u.name in granted}
                    for v, u in rows.current(s, repo_id=repo.id, status=status)]

    def history(self, caller: Caller | None, name: str, user_name: str | None = None) -> list[dict]:
        """Every version with its time: the licensor sees everyone's, a requester their own."""
        caller = need(caller, "read")
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            if user_name is None and not is_owner(caller, repo):
                user_name = caller.name  # a requester's own history
            if user_name != caller.name:
                need_owner(caller, repo)
            user_id = find_user(s, check_name(user_name, "user name")).id if user_name else None
            return [version_dict(v, u) for v, u in rows.history(s, repo_id=repo.id, user_id=user_id)]

    def _decide(self, s: Session, caller: Caller, repo: Repo, user: User, status: str,
                reason: Phrase | str) -> dict:
        """A licensor's decision; its reason is one of the hub's templates or, as a string, their own words."""
        prev = rows.latest(s, repo_id=repo.id, user_id=user.id)
        text, msgid = english(reason), reason.msgid if isinstance(reason, Phrase) else ""
        version = rows.append(s, repo_id=repo.id, user_id=user.id, kind="decision",
                              fields=prev.fields if prev else {}, decision=prev.decision if prev else None,
                              status=status, reason=text, decided_by=caller.name, reason_msgid=msgid)
        audit(s, caller.name, "access.handle", f"repo:{repo.name}",
              {"status": prev.status, "reason": prev.reason} if prev else None,
              {"user": user.name, "status": status, "reason": text, "version": version.version})
        return {"repo": repo.name, **version_dict(version, user.name)}

    def _licensor_view(self, s: Session, caller: Caller | None, name: str, user_name: str) -> tuple[Caller, Repo, User]:
        check_name(user_name, "user name")
        repo = find_repo(s, name)
        owner = need_owner(caller, repo)
        return owner, repo, find_user(s, user_name)

    def handle_request(self, caller: Caller | None, name: str, user_name: str, status: str,
                       reason: str | None = None) -> dict:
        """The licensor accepts, rejects or sends back to pending (HF's /handle); "reset" removes
        the request from every list and lets the user submit afresh (the history keeps it)."""
        if status not in (*STATUSES, "reset"):
            raise BadInput(N_("status must be one of %(statuses)s"), values={"statuses": str((*STATUSES, "reset"))})
        with self.core.write() as s:
            owner, repo, user = self._licensor_view(s, caller, name, user_name)
            prev = rows.latest(s, repo_id=repo.id, user_id=user.id)
            if prev is None:
                raise NotFound(N_("%(user)s has not asked for access to %(repo)s"), values={"user": user_name, "repo": name})
            out = self._decide(s, owner, repo, user, status, licensor_reason(reason, DECIDED[status]))
            if status == "accepted":
                self._grant(s, repo, user, owner.name, (prev.decision or {}).get("obligations"))
            else:
                self._revoke(s, repo, user, owner.name, out["reason"])
            return out

    def grant_access(self, caller: Caller | None, name: str, user_name: str) -> dict:
        """HF's /grant: give access with no prior request (recorded as a licensor's decision)."""
        with self.core.write() as s:
            owner, repo, user = self._licensor_view(s, caller, name, user_name)
            if rows.live_grants(s, repo_id=repo.id, user_id=user.id):
                raise BadInput(N_("%(user)s already has access to %(repo)s"), values={"user": user_name, "repo": name})
            out = self._decide(s, owner, repo, user, "accepted", Phrase(GRANTED_BY_LICENSOR))
            self._grant(s, repo, user, owner.name, None)
            return out

    def revoke_access(self, caller: Caller | None, name: str, user_name: str, reason: str = "") -> dict:
        with self.core.write() as s:
            owner, repo, user = self._licensor_view(s, caller, name, user_name)
            said = licensor_reason(reason, REVOKED)
            if not self._revoke(s, repo, user, owner.name, english(said)):
                raise NotFound(N_("%(user)s has no access to revoke on %(repo)s"), values={"user": user_name, "repo": name})
            self._decide(s, owner, repo, user, "rejected", said)
            return {"repo": name, "user": user_name, "revoked": True}

    def grants(self, caller: Caller | None, name: str) -> list[dict]:
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            need_owner(caller, repo)
            return [{"user": u, "granted_by": g.granted_by, "obligations": g.obligations,
                     "created_at": iso(g.created_at), "revoked_at": iso(g.revoked_at)}
                    for g, u in rows.grants_of_repo(s, repo_id=repo.id)]


