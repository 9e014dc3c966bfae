"""Webhooks and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aperto.store.models import Webhook, WebhookDelivery, utcnow


def add(s: Session, *, owner_id: int, scope: str, target: str, url: str, secret: str, events: list[str],
        seen_seq: int) -> Webhook:
    row = Webhook(owner_id=owner_id, scope=scope, target=target, url=url, secret=secret, events=events,
                  active=True, seen_seq=seen_seq, created_at=utcnow())
    s.add(row)
    s.flush()
    return row


def get(s: Session, *, webhook_id: int) -> Webhook | None:
    return s.get(Webhook, webhook_id)


def listed(s: Session, *, owner_id: int | None = None) -> list[Webhook]:
    q = select(Webhook).order_by(Webhook.id)
    if owner_id is not None:
        q = q.where(Webhook.owner_id == owner_id)
    return list(s.scalars(q))


def active(s: Session) -> list[Webhook]:
    return list(s.scalars(select(Webhook).where(Webhook.active.is_(True)).order_by(Webhook.id)))


def remove(s: Session, *, row: Webhook) -> None:
    s.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == row.id))
    s.delete(row)
    s.flush()


def add_delivery(s: Session, *, webhook_id: int, audit_seq: int, event: str, payload: dict[str, Any]) -> None:
    now = utcnow()
    s.add(WebhookDelivery(webhook_id=webhook_id, audit_seq=audit_seq, event=event, payload=payload,
                          status="pending", attempts=0, next_at=now, created_at=now))
    s.flush()


def _due(now: datetime) -> tuple[Any, ...]:
    return WebhookDelivery.status == "pending", WebhookDelivery.next_at <= now


def due(s: Session, *, now: datetime, limit: int) -> list[tuple[WebhookDelivery, Webhook]]:
    q = (select(WebhookDelivery, Webhook).join(Webhook, WebhookDelivery.webhook_id == Webhook.id)
         .where(*_due(now)).order_by(WebhookDelivery.id).limit(limit))
    return [(d, w) for d, w in s.execute(q)]


def any_due(s: Session, *, now: datetime) -> bool:
    return s.scalar(select(WebhookDelivery.id).where(*_due(now)).limit(1)) is not None


def delivery(s: Session, *, delivery_id: int) -> WebhookDelivery | None:
    return s.get(WebhookDelivery, delivery_id)


def deliveries(s: Session, *, webhook_id: int, limit: int = 200) -> list[WebhookDelivery]:
    q = (select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
         .order_by(WebhookDelivery.id.desc()).limit(limit))
    return list(s.scalars(q))
