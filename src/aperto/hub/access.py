"""Access requests and grants: an attestation becomes a policy Decision, which
becomes a grant, a place in the licensor's queue, or a refusal with its clause."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aperto.errors import BadInput, NotFound
from aperto.hub import licensing
from aperto.hub.base import Caller, check_name, iso, need, utcnow
from aperto.hub.repos import RepoMixin
from aperto.store.models import AccessRequest, Grant, Repo, User

USES = ("commercial", "internal", "research", "evaluation")
STATUSES = ("pending", "accepted", "rejected")


def clean_attestation(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate the self-declared attestation (nobody can verify MAU; we record what was declared)."""
    if not isinstance(fields, dict):
        raise BadInput("the attestation must be a JSON object")
    out: dict[str, Any] = {}
    try:
        out["org"] = str(fields.get("org") or "")[:200]
        out["mau"] = int(fields.get("mau") or 0)
        out["affiliates_mau"] = int(fields.get("affiliates_mau") or 0)
    except (TypeError, ValueError) as exc:
        raise BadInput("mau and affiliates_mau must be whole numbers") from exc
    if out["mau"] < 0 or out["affiliates_mau"] < 0:
        raise BadInput("mau and affiliates_mau cannot be negative")
    use = fields.get("use", "commercial")
    if use not in USES:
        raise BadInput(f"use must be one of {USES}")
    out["use"] = use
    country = str(fields.get("country") or "").strip().upper()
    if country and (len(country) != 2 or not country.isalpha()):
        raise BadInput("country must be an ISO 3166-1 alpha-2 code such as FR or US")
    out["country"] = country
    for flag in ("train_other_models", "accepts_aup", "redistribute", "publish_finetune", "multimodal"):
        value = fields.get(flag, False)
        if isinstance(value, str):
            value = value.lower() in ("1", "true", "yes", "on")
        out[flag] = bool(value)
    if fields.get("derivative_name"):
        out["derivative_name"] = str(fields["derivative_name"])[:200]
    if not out["accepts_aup"]:
        raise BadInput("you must accept the licence and its acceptable-use policy", field="accepts_aup")
    return out


class AccessMixin(RepoMixin):
    def _request_dict(self, req: AccessRequest, repo: Repo, user: User) -> dict:
        return {"repo": repo.name, "user": user.name, "status": req.status, "reason": req.reason,
                "decision": req.decision, "fields": req.fields, "decided_by": req.decided_by,
                "created_at": iso(req.created_at), "updated_at": iso(req.updated_at)}

    def _grant(self, s: Session, repo: Repo, user: User, by: str, obligations: list | None) -> bool:
        """Give a live grant (idempotent). Returns True if a new one was made."""
        live = s.scalar(select(Grant).where(Grant.repo_id == repo.id, Grant.user_id == user.id,
                                            Grant.revoked_at.is_(None)))
        if live is not None:
            return False
        s.add(Grant(repo_id=repo.id, user_id=user.id, granted_by=by, obligations=obligations, created_at=utcnow()))
        self._event(s, "grant", repo.name, user.name, {"by": by})
        self._audit(s, by, "grant", f"repo:{repo.name}", None, {"user": user.name, "obligations": obligations})
        return True

    def _revoke(self, s: Session, repo: Repo, user: User, by: str, reason: str) -> bool:
        live = s.scalars(select(Grant).where(Grant.repo_id == repo.id, Grant.user_id == user.id,
                                             Grant.revoked_at.is_(None))).all()
        for grant in live:
            grant.revoked_at = utcnow()
        if live:
            self._event(s, "revoke", repo.name, user.name, {"by": by, "reason": reason})
            self._audit(s, by, "revoke", f"repo:{repo.name}", {"user": user.name, "granted": True},
                        {"user": user.name, "granted": False, "reason": reason})
        return bool(live)

    def request_access(self, caller: Caller | None, name: str, fields: dict[str, Any]) -> dict:
        caller = need(caller, "read")
        attestation = clean_attestation(fields)
        with self._write() as s:
            repo = self._repo(s, name)
            user = s.get(User, caller.user_id)
            if repo.gating == "open":
                raise BadInput(f"{name} is not gated: anyone may download it")
            decision = licensing.evaluate(repo.license_id, attestation)
            outcome = decision.get("outcome", "needs_licensor_grant")
            if outcome == "prohibited":
                status, reason = "rejected", licensing.first_reason(decision) or "the licence prohibits this use"
            elif outcome in ("allowed", "allowed_with_obligations") and repo.gating == "auto":
                status, reason = "accepted", "granted automatically: " + (licensing.first_reason(decision) or outcome)
            else:
                status = "pending"
                reason = ("waiting for the licensor (manual review)" if repo.gating == "manual"
                          else "waiting for the licensor: " + (licensing.first_reason(decision) or outcome))
            req = s.scalar(select(AccessRequest).where(AccessRequest.repo_id == repo.id,
                                                       AccessRequest.user_id == user.id))
            before = None
            now = utcnow()
            if req is None:
                req = AccessRequest(repo_id=repo.id, user_id=user.id, created_at=now)
                s.add(req)
            else:
                before = {"status": req.status, "reason": req.reason}
            req.fields, req.decision, req.status, req.reason = attestation, decision, status, reason[:2000]
            req.decided_by = "policy" if status != "pending" else None
            req.updated_at = now
            self._audit(s, caller.name, "access.request", f"repo:{name}", before,
                        {"user": user.name, "attestation": attestation, "license": repo.license_id})
            self._audit(s, "policy", "access.decision", f"repo:{name}", None,
                        {"user": user.name, "outcome": outcome, "status": status,
                         "reasons": decision.get("reasons", [])})
            if status == "accepted":
                self._grant(s, repo, user, "policy", decision.get("obligations"))
            elif status == "rejected":
                self._revoke(s, repo, user, "policy", reason)
            s.flush()
            return self._request_dict(req, repo, user)

    def my_request(self, caller: Caller | None, name: str) -> dict:
        caller = need(caller, "read")
        with self.store.read() as s:
            repo = self._repo(s, name)
            req = s.scalar(select(AccessRequest).where(AccessRequest.repo_id == repo.id,
                                                       AccessRequest.user_id == caller.user_id))
            if req is None:
                raise NotFound(f"you have not asked for access to {name}")
            out = self._request_dict(req, repo, s.get(User, caller.user_id))
            out["access"] = self._has_grant(s, repo, caller) or self._is_owner(caller, repo)
            return out

    def list_requests(self, caller: Caller | None, name: str, status: str) -> list[dict]:
        """The licensor's queue, shaped like HF's user-access-request lists."""
        if status not in STATUSES:
            raise BadInput(f"status must be one of {STATUSES}")
        with self.store.read() as s:
            repo = self._repo(s, name)
            self._need_owner(caller, repo)
            rows = s.execute(select(AccessRequest, User).join(User, AccessRequest.user_id == User.id)
                             .where(AccessRequest.repo_id == repo.id, AccessRequest.status == status)
                             .order_by(AccessRequest.updated_at))
            return [{"user": {"user": u.name, "fullname": u.name, "email": None},
                     "requestId": str(r.id), "status": r.status, "timestamp": iso(r.updated_at),
                     "fields": r.fields, "reason": r.reason, "decision": r.decision} for r, u in rows]

    def _licensor_view(self, s: Session, caller: Caller | None, name: str,
                       user_name: str) -> tuple[Caller, Repo, User, AccessRequest | None]:
        """What every licensor action on one user's access starts from, owner check included."""
        repo = self._repo(s, name)
        owner = self._need_owner(caller, repo)
        user = self._user(s, user_name)
        req = s.scalar(select(AccessRequest).where(AccessRequest.repo_id == repo.id,
                                                   AccessRequest.user_id == user.id))
        return owner, repo, user, req

    def handle_request(self, caller: Caller | None, name: str, user_name: str, status: str,
                       reason: str | None = None) -> dict:
        """The licensor accepts, rejects or sends back to pending (HF's /handle)."""
        if status not in STATUSES:
            raise BadInput(f"status must be one of {STATUSES}")
        check_name(user_name, "user name")
        with self._write() as s:
            caller, repo, user, req = self._licensor_view(s, caller, name, user_name)
            if req is None:
                raise NotFound(f"{user_name} has not asked for access to {name}")
            before = {"status": req.status, "reason": req.reason}
            req.status, req.decided_by, req.updated_at = status, caller.name, utcnow()
            req.reason = (reason or {"accepted": "accepted by the licensor", "pending": "back to review",
                                     "rejected": "rejected by the licensor"}[status])[:2000]
            self._audit(s, caller.name, "access.handle", f"repo:{name}", before,
                        {"user": user_name, "status": status, "reason": req.reason})
            if status == "accepted":
                self._grant(s, repo, user, caller.name, (req.decision or {}).get("obligations"))
            else:
                self._revoke(s, repo, user, caller.name, req.reason)
            return self._request_dict(req, repo, user)

    def grant_access(self, caller: Caller | None, name: str, user_name: str) -> dict:
        """HF's /grant: give access with no prior request (recorded as an accepted request)."""
        check_name(user_name, "user name")
        with self._write() as s:
            caller, repo, user, req = self._licensor_view(s, caller, name, user_name)
            now = utcnow()
            if req is None:
                req = AccessRequest(repo_id=repo.id, user_id=user.id, fields={}, decision=None, created_at=now)
                s.add(req)
            req.status, req.reason, req.decided_by, req.updated_at = "accepted", "granted by the licensor", caller.name, now
            if not self._grant(s, repo, user, caller.name, None):
                raise BadInput(f"{user_name} already has access to {name}")
            s.flush()
            return self._request_dict(req, repo, user)

    def revoke_access(self, caller: Caller | None, name: str, user_name: str, reason: str = "") -> dict:
        check_name(user_name, "user name")
        with self._write() as s:
            caller, repo, user, req = self._licensor_view(s, caller, name, user_name)
            revoked = self._revoke(s, repo, user, caller.name, reason or "revoked by the licensor")
            if req is not None:
                req.status, req.reason, req.updated_at = "rejected", reason or "revoked by the licensor", utcnow()
            if not revoked:
                raise NotFound(f"{user_name} has no access to revoke on {name}")
            return {"repo": name, "user": user_name, "revoked": True}

    def grants(self, caller: Caller | None, name: str) -> list[dict]:
        with self.store.read() as s:
            repo = self._repo(s, name)
            self._need_owner(caller, repo)
            rows = s.execute(select(Grant, User.name).join(User, Grant.user_id == User.id)
                             .where(Grant.repo_id == repo.id).order_by(Grant.id))
            return [{"user": u, "granted_by": g.granted_by, "obligations": g.obligations,
                     "created_at": iso(g.created_at), "revoked_at": iso(g.revoked_at)} for g, u in rows]
