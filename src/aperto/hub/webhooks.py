"""Webhooks: a licensor (for their repos) or an admin (for any repo or organisation) is told
of access requests, decisions, takedowns, kills and new commits.

The audit log is the source: every one of those actions already writes an audit row in its
own transaction, so a webhook follows the log from where it was registered (``seen_seq``) and
turns rows into deliveries, in one write transaction, exactly once per (webhook, row). A
sender thread posts due deliveries with the secret in ``X-Webhook-Secret`` (as Hugging Face
does), retries failures with exponential backoff, and keeps every attempt's outcome in the
delivery log. The payload follows Hugging Face's webhook shape where an equivalent exists
(``event``, ``repo``, ``webhook``, ``updatedRefs``); what HF has no word for is under ``aperto``.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from aperto.errors import BadInput, Forbidden, NotFound
from aperto.hub.auth import Caller, check_name, iso, need, utcnow
from aperto.hub.core import Core, audit
from aperto.hub.gate import check_repo, find_repo, need_owner
from aperto.hub.i18n import N_
from aperto.store import audit as audit_rows
from aperto.store import webhooks as rows
from aperto.store.models import Audit, Webhook

log = logging.getLogger(__name__)
EVENTS = ("access.request.created", "access.request.accepted", "access.request.rejected", "access.request.revoked",
          "repo.takedown", "repo.restore", "kill", "resume", "repo.commit")
# HF's scope for each event where it has one; the rest are ours
SCOPES = {"repo.commit": ("repo.content", "update"), "repo.takedown": ("repo.config", "update"),
          "repo.restore": ("repo.config", "update")}
LEASE = timedelta(seconds=60)  # a claimed delivery is not sent again by another replica before this


def translate(row: Audit) -> tuple[str, str | None, dict[str, Any]] | None:
    """(event, repo or None for every repo, details) for an audit row webhooks report."""
    after = json.loads(row.after) if row.after else None
    before = json.loads(row.before) if row.before else None
    after, before = after if isinstance(after, dict) else {}, before if isinstance(before, dict) else {}
    repo = row.subject[5:].split("@", 1)[0] if row.subject.startswith("repo:") else None
    action = row.action
    if action == "access.request":
        return "access.request.created", repo, {"user": after.get("user")}
    if action in ("access.decision", "access.handle") and after.get("status") in ("accepted", "rejected"):
        return f"access.request.{after['status']}", repo, {"user": after.get("user"), "reason": after.get("reason")}
    if action == "revoke":
        return "access.request.revoked", repo, {"user": before.get("user")}
    if action in ("takedown", "restore"):
        return f"repo.{action}", repo, {"reason": after.get("withdrawn_reason"), "revision": after.get("revision")}
    if action in ("kill", "resume"):
        return action, repo, {"reason": after.get("reason")}
    if action == "publish":
        return "repo.commit", repo, {"oldSha": before.get("main"), "newSha": after.get("main"),
                                     "license": after.get("license"), "gating": after.get("gating")}
    return None


def watches(hook: Webhook, repo: str | None) -> bool:
    if repo is None:  # a kill of everything concerns every watcher
        return True
    return hook.target == repo if hook.scope == "repo" else repo.split("/")[0] == hook.target


def private_host(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable: the send fails and is retried
    return any(not ipaddress.ip_address(info[4][0]).is_global for info in infos)


class Webhooks:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.backoff = 5.0  # seconds before the first retry; doubles each time
        self.max_attempts = 8
        self.timeout = 10.0
        self.allow_private = core.settings.webhook_private_targets
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- registration ------------------------------------------------------------------
    def register(self, caller: Caller | None, watched: Any, url: Any, secret: Any = "", events: Any = None) -> dict:
        caller = need(caller, "read")
        if not isinstance(watched, list) or len(watched) != 1 or not isinstance(watched[0], dict):
            raise BadInput(N_("watch exactly one repo or organisation: [{'type': 'model'|'org', 'name': ...}]"))
        kind, target = watched[0].get("type"), watched[0].get("name")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise BadInput(N_("the webhook URL must be http(s)"))
        if len(url) > 2000 or not isinstance(secret, str) or len(secret) > 200:
            raise BadInput(N_("the URL is at most 2000 characters, the secret at most 200"))
        chosen = list(EVENTS) if events in (None, []) else events
        if not isinstance(chosen, list) or not set(chosen) <= set(EVENTS):
            raise BadInput(N_("events are among %(events)s"), values={"events": str(list(EVENTS))})
        with self.core.write() as s:
            if kind == "model":
                need_owner(caller, find_repo(s, check_repo(str(target))))
                scope = "repo"
            elif kind in ("org", "user"):
                check_name(str(target), "organisation")
                if not caller.admin and not (caller.has("publish") and target in (caller.org, caller.name)):
                    raise Forbidden(N_("only an administrator or a publisher of %(target)s may watch it"),
                                    values={"target": str(target)})
                scope = "org"
            else:
                raise BadInput(N_("watched type is 'model' or 'org'"))
            tail = audit_rows.tail(s)
            hook = rows.add(s, owner_id=caller.user_id, scope=scope, target=str(target), url=url, secret=secret,
                            events=chosen, seen_seq=tail.seq if tail else 0)
            audit(s, caller.name, "webhook.create", f"webhook:{hook.id}", None,
                  {"scope": scope, "target": target, "url": url, "events": chosen})
            out = self._shape(hook)
        self._wake.set()
        return out

    @staticmethod
    def _shape(hook: Webhook) -> dict:
        return {"id": str(hook.id), "url": hook.url, "watched": [{"type": "model" if hook.scope == "repo" else "org",
                                                                   "name": hook.target}],
                "domains": ["repo"], "events": hook.events, "secret": "***" if hook.secret else None,
                "disabled": not hook.active, "createdAt": iso(hook.created_at)}

    def _mine(self, s: Any, caller: Caller | None, webhook_id: str) -> Webhook:
        caller = need(caller, "read")
        hook = rows.get(s, webhook_id=int(webhook_id)) if str(webhook_id).isdigit() else None
        if hook is None or (hook.owner_id != caller.user_id and not caller.admin):
            raise NotFound(N_("no webhook %(id)s"), values={"id": str(webhook_id)})
        return hook

    def listed(self, caller: Caller | None) -> list[dict]:
        caller = need(caller, "read")
        with self.core.store.read() as s:
            return [self._shape(h) for h in rows.listed(s, owner_id=None if caller.admin else caller.user_id)]

    def get(self, caller: Caller | None, webhook_id: str) -> dict:
        with self.core.store.read() as s:
            return self._shape(self._mine(s, caller, webhook_id))

    def delete(self, caller: Caller | None, webhook_id: str) -> dict:
        with self.core.write() as s:
            hook = self._mine(s, caller, webhook_id)
            audit(s, need(caller, "read").name, "webhook.delete", f"webhook:{hook.id}", {"url": hook.url}, None)
            rows.remove(s, row=hook)
        return {"deleted": webhook_id}

    def set_disabled(self, caller: Caller | None, webhook_id: str, disabled: bool) -> dict:
        with self.core.write() as s:
            hook = self._mine(s, caller, webhook_id)
            hook.active = not disabled
            return self._shape(hook)

    def deliveries(self, caller: Caller | None, webhook_id: str) -> list[dict]:
        """The delivery log, newest first: what was sent, how often, what came back."""
        with self.core.store.read() as s:
            hook = self._mine(s, caller, webhook_id)
            return [{"id": d.id, "event": d.event, "status": d.status, "attempts": d.attempts,
                     "lastCode": d.last_code, "lastError": d.last_error, "nextAt": iso(d.next_at),
                     "createdAt": iso(d.created_at), "deliveredAt": iso(d.delivered_at), "payload": d.payload}
                    for d in rows.deliveries(s, webhook_id=hook.id)]

    # ---- delivery ------------------------------------------------------------------------
    def payload(self, hook: Webhook, row: Audit, event: str, repo: str | None, details: dict) -> dict:
        base = self.core.settings.hub_url.rstrip("/")
        scope, action = SCOPES.get(event, (f"aperto.{event}", "update"))
        body: dict[str, Any] = {"event": {"action": action, "scope": scope},
                                "webhook": {"id": str(hook.id), "version": 3},
                                "aperto": {"event": event, "actor": row.actor, "at": row.at, "auditSeq": row.seq,
                                           **{k: v for k, v in details.items() if v is not None}}}
        if repo:
            body["repo"] = {"type": "model", "name": repo, "id": repo, "private": False,
                            "url": {"web": f"{base}/models/{repo}", "api": f"{base}/api/models/{repo}"}}
        if event == "repo.commit":
            body["repo"]["headSha"] = details.get("newSha")
            body["updatedRefs"] = [{"ref": "refs/heads/main", "oldSha": details.get("oldSha"),
                                    "newSha": details.get("newSha")}]
        return body

    def enqueue(self, batch: int = 500) -> int:
        """Turn new audit rows into deliveries for every active webhook that watches them."""
        with self.core.store.read() as s:
            tail = audit_rows.tail(s)
            behind = {h.id for h in rows.active(s) if tail and h.seen_seq < tail.seq}
        if not behind:
            return 0
        made = 0
        with self.core.write() as s:
            for hook in rows.active(s):
                if hook.id not in behind:
                    continue
                for row in list(audit_rows.rows(s, after=hook.seen_seq, limit=batch)):
                    found = translate(row)
                    if found and found[0] in hook.events and watches(hook, found[1]):
                        rows.add_delivery(s, webhook_id=hook.id, audit_seq=row.seq, event=found[0],
                                          payload=self.payload(hook, row, *found))
                        made += 1
                    hook.seen_seq = row.seq
        return made

    def send_due(self, limit: int = 50) -> int:
        now = utcnow()
        with self.core.store.read() as s:
            # each replica asks every second: a question that takes the fleet's write lock would hold
            # up every other writer (a takedown, a revocation) behind it
            if not rows.any_due(s, now=now):
                return 0
        with self.core.write() as s:
            claimed = []
            for d, hook in rows.due(s, now=now, limit=limit):
                d.attempts += 1
                d.next_at = now + LEASE
                claimed.append((d.id, hook.url, hook.secret, d.payload, d.event))
        for delivery_id, url, secret, payload, event in claimed:
            code, error = self._post(url, secret, payload, event)
            with self.core.write() as s:
                sent = rows.delivery(s, delivery_id=delivery_id)
                if sent is None:  # the webhook was deleted meanwhile
                    continue
                sent.last_code, sent.last_error = code, error
                if code is not None and 200 <= code < 300:
                    sent.status, sent.delivered_at = "delivered", utcnow()
                elif sent.attempts >= self.max_attempts:
                    sent.status = "failed"
                else:
                    sent.next_at = utcnow() + timedelta(seconds=self.backoff * 2 ** (sent.attempts - 1))
        return len(claimed)

    def _post(self, url: str, secret: str, payload: dict, event: str) -> tuple[int | None, str | None]:
        if not self.allow_private and private_host(url):
            return None, "the URL resolves to a private address (APERTO_WEBHOOK_PRIVATE_TARGETS allows it)"
        headers = {"Content-Type": "application/json", "User-Agent": "aperto-hub-webhooks",
                   "X-Aperto-Event": event}
        if secret:
            headers["X-Webhook-Secret"] = secret
        try:
            r = httpx.post(url, json=payload, headers=headers, timeout=self.timeout, follow_redirects=False)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        return r.status_code, None if r.is_success else r.text[:500]

    def pump(self) -> int:
        self.enqueue()
        return self.send_due()

    # ---- the sender thread ------------------------------------------------------------------
    def start(self, interval: float = 1.0) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    busy = self.pump()
                except Exception:  # noqa: BLE001 - a failed round is logged and tried again
                    log.exception("webhook delivery round failed")
                    busy = 0
                if not busy:
                    self._wake.wait(interval)
                    self._wake.clear()

        self._thread = threading.Thread(target=loop, name="aperto-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
