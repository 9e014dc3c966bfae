"""``aperto check``: may this profile use this model? A thin adapter over
``aperto.policy.evaluate``; the outcome becomes the exit code."""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path
from typing import Any

import click

from aperto.errors import ApertoError, NotFound
from aperto.policy.profile import parse_count

EXIT_CODES = {
    "allowed": 0,
    "allowed_with_obligations": 10,
    "needs_licensor_grant": 11,
    "prohibited": 12,
}


def _resolve(target: str) -> tuple[Any, Any, dict[str, Any] | None]:
    """(licence id, catalogue model or None, identification dict or None) for a model, licence or path."""
    from aperto import catalog
    from aperto.licenses import kb

    path = Path(target)
    if path.exists():
        from aperto.licenses.identify import identify_path  # heavy; only when a path is given

        found = identify_path(path)
        if not getattr(found, "id", None):
            raise NotFound(f"no known licence identified in {target}",
                           hint="pass a licence id instead, e.g. `aperto check llama3.1`", path=target)
        return found.id, None, found.to_dict()
    model = catalog.find(target)
    if model is not None:
        return model.license, model, None
    lic = kb.find(target)
    if lic is not None:
        return lic.id, None, None
    near = catalog.suggest(target) + difflib.get_close_matches(target.lower(), kb.ids(), n=3, cutoff=0.7)
    raise NotFound(f"{target!r} is neither a model in the catalogue, a known licence id, nor a path",
                   hint=f"did you mean {', '.join(near)}?" if near else
                   "try a Hugging Face id such as meta-llama/Llama-2-7b-hf or a licence id such as llama2")


def _openness(license_id: str, model: Any) -> dict[str, Any] | None:
    """OSD, OSAID and MOF class of the licence, with the catalogue's release facts for a known model."""
    from aperto import catalog
    from aperto.licenses import kb, verdict

    if kb.find(license_id) is None:
        return None
    body = verdict.openness(license_id, catalog.released(model) if model is not None else None)
    body["model"] = model.id if model is not None else None
    return body


def _human(decision: Any, ident: dict[str, Any] | None) -> str:
    lines = [f"{decision.outcome.label.upper()}: {decision.license_name} ({decision.license})"
             + (f" for {decision.model}" if decision.model else "")]
    if ident and ident.get("status") not in (None, "identified"):
        lines.append(f"  note: licence identification status is {ident.get('status')}")
    if decision.obligations:
        lines.append("Obligations:" if decision.allowed else "Obligations (these would apply too):")
        lines += [f"  - [{o.clause}] {o.text}" for o in decision.obligations]
    lines.append("Reasons:")
    lines += [f"  - [{r.clause}] ({r.outcome.value}) {r.text}" for r in decision.reasons]
    lines.append("Based on what you declared; aperto does not verify it.")
    return "\n".join(lines)


@click.command("check")
@click.argument("target", metavar="MODEL_OR_PATH")
@click.option("--mau", default="0", show_default=True,
              help="Your monthly active users in the month before the model's release date (800000000, 800M).")
@click.option("--affiliates-mau", default="0", show_default=True, help="Your affiliates' monthly active users, same date.")
@click.option("--use", "use", type=click.Choice(["commercial", "internal", "research", "evaluation"]),
              default="commercial", show_default=True, help="What the model will be used for.")
@click.option("--country", default=None, help="ISO 3166-1 alpha-2 code where you are domiciled / have your "
                                              "principal place of business (DE, US...).")
@click.option("--train-other-models/--no-train-other-models", default=False,
              help="Outputs or weights will train or improve another model.")
@click.option("--redistribute", is_flag=True, help="You will give the weights (or a product containing them) to others.")
@click.option("--publish-finetune", is_flag=True, help="You will distribute or host a fine-tune or other derivative.")
@click.option("--name", "derivative_name", default=None, help="The name the derivative will be published under.")
@click.option("--multimodal", is_flag=True, help="The model used takes images or audio (the catalogue knows for its models).")
@click.option("--hosted-service", is_flag=True, help="You will offer the model to others as a hosted service.")
@click.option("--no-aup", "rejects_aup", is_flag=True, help="You do not accept the licence's acceptable use policy.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
def check_cmd(target: str, mau: str, affiliates_mau: str, use: str, country: str | None,
              train_other_models: bool, redistribute: bool, publish_finetune: bool, derivative_name: str | None,
              multimodal: bool, hosted_service: bool, rejects_aup: bool, as_json: bool) -> None:
    """Decide whether you may use MODEL_OR_PATH (a catalogue model, a licence id, or a file or folder
    whose licence is identified) for what you declare.

    \b
    Exit codes: 0 allowed, 10 allowed with obligations, 11 needs a grant from the licensor,
    12 prohibited; 3 bad input, 4 model or licence not found.
    """
    from aperto.policy import Profile, Use, evaluate

    try:
        license_id, model, ident = _resolve(target)
        profile = Profile(
            mau=parse_count(mau, "--mau"), affiliates_mau=parse_count(affiliates_mau, "--affiliates-mau"),
            use=Use(use), country=country, train_other_models=train_other_models, redistribute=redistribute,
            publish_finetune=publish_finetune, derivative_name=derivative_name, multimodal=multimodal,
            accepts_aup=not rejects_aup, hosted_service=hosted_service,
        )
        decision = evaluate(license_id, profile, model=model)
    except ApertoError as exc:
        click.echo(f"error: {exc.one_line()}", err=True)
        sys.exit(exc.exit_code)
    if as_json:
        body = decision.to_dict()
        body["exit_code"] = EXIT_CODES[decision.outcome.value]
        body["openness"] = _openness(license_id, model)
        if ident is not None:
            body["identification"] = ident
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        click.echo(_human(decision, ident))
    # SystemExit rather than ctx.exit: click's non-standalone mode (aperto.cli.main.main) would turn
    # ctx.exit into a return value, and `python -m aperto` would then exit 0 whatever the outcome.
    code = EXIT_CODES[decision.outcome.value]
    if code:
        sys.exit(code)
