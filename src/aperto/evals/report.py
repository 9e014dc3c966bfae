"""Presenting a summary, and its bodies for the hub (docs/contracts.md, "Evaluation results on the hub")."""

from __future__ import annotations

from typing import Any

MAX_SETTING = 1000  # the hub's limit on one setting's string


def text(summary: dict[str, Any]) -> str:
    lines = [f"HumanEval: {summary['problems']} problems, {summary['samples']} samples (n={summary['n']})"]
    for name, score in summary["scores"].items():
        low, high = score["ci95"]
        lines.append(f"  {name:<8} {score['value']:.2%}   95% CI [{low:.2%}, {high:.2%}]")
    lines.append(f"  CI: {summary['ci_method']}")
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(summary["verdicts"].items()))
    lines.append(f"  verdicts: {verdicts}")
    iso = summary["isolation"]
    lines.append(f"  isolation: {iso.get('level')} ({iso.get('summary')})")
    lines.append(f"  wall time {summary['wall_s']:.1f} s, {summary['samples_per_s']} samples/s")
    return "\n".join(lines)


def flat_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The hub keeps settings flat (short strings, numbers, booleans): nested limits become
    ``limits.floor`` and so on, a list becomes one comma-separated string, or its length if long."""
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(flat_settings({f"{key}.{k}": v for k, v in value.items()}))
        elif isinstance(value, list | tuple):
            joined = ",".join(map(str, value))
            flat[key] = joined if len(joined) <= MAX_SETTING else f"{len(value)} values"
        else:
            flat[key] = value
    return flat


def hub_payloads(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One body per pass@k, in the contract's shape."""
    bodies = []
    for name, score in summary["scores"].items():
        k = int(name.split("@")[1])
        bodies.append({
            "benchmark": "humaneval", "metric": name, "value": score["value"], "ci95": score["ci95"],
            "n": summary["n"], "k": k, "samples": summary["samples"],
            "settings": {**flat_settings(summary["settings"]), "isolation": summary["isolation"].get("level"),
                         "ci_method": summary["ci_method"], "harness": summary["harness"],
                         "problems": summary["problems"], "dataset": summary["dataset"]},
            "run_id": summary["run_id"], "at": summary["at"],
        })
    return bodies
