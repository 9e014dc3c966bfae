"""Request ids and JSON log lines, shared by the hub and the gateway. Pure ASGI and logging; nothing
happens at import.

``RequestId`` gives every answer an ``x-request-id`` (the client's own when it is sane, else a new
one), puts it in ``scope["state"]["request_id"]`` and logs one line per request with it: at INFO
(WARNING for a 5xx), or with ``quiet_reads`` a successful GET, HEAD or OPTIONS at DEBUG, since a line
per read costs a hot read path about 40 % of its throughput (docs/benchmarks-fleet.md)
``JsonLines`` formats a log record as one JSON object per line (``time``, ``level``, ``logger``,
``message``, and ``request_id``, ``method``, ``path``, ``status`` when the record carries them)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
READS = frozenset({"GET", "HEAD", "OPTIONS"})
FIELDS = ("request_id", "method", "path", "status", "seconds")


class RequestId:
    def __init__(self, app: Any, logger: str, quiet_reads: bool = False) -> None:
        self.app = app
        self.log = logging.getLogger(logger)
        self.quiet_reads = quiet_reads

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if SANE.fullmatch(given) else "req_" + uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        header = (b"x-request-id", rid.encode())
        start = time.perf_counter()

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
                status = message["status"]
                level = (logging.WARNING if status >= 500 else logging.DEBUG
                         if self.quiet_reads and status < 400 and scope["method"] in READS else logging.INFO)
                if self.log.isEnabledFor(level):
                    self.log.log(level, "%s %s %s -> %d", rid, scope["method"], scope["path"], status,
                                 extra={"request_id": rid, "method": scope["method"], "path": scope["path"],
                                        "status": status, "seconds": round(time.perf_counter() - start, 6)})
            await send(message)

        await self.app(scope, receive, send_with_id)


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                                + f".{int(record.msecs):03d}Z", "level": record.levelname.lower(),
                                "logger": record.name, "message": record.getMessage()}
        line.update({k: getattr(record, k) for k in FIELDS if hasattr(record, k)})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def json_logs(logger: str, level: int = logging.INFO) -> logging.Handler:
    """Send ``logger``'s records at ``level`` and above to stderr as JSON lines (for `aperto hub`)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    target = logging.getLogger(logger)
    target.addHandler(handler)
    target.setLevel(level)
    return handler
