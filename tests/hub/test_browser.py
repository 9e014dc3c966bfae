"""Chromium drives the web UI: a publisher publishes (CLI), a user requests access, the
licensor accepts in the queue, the user downloads. Screenshots at 1280 and 390 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hubtools import LLAMA_CARD, People

from aperto.cli.hub import publish_cmd

pytestmark = pytest.mark.slow


def sign_in(page, live: str, token: str) -> None:  # noqa: ANN001
    page.goto(f"{live}/login")
    page.get_by_label("Hub token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live}/")


def test_request_accept_download_in_chromium(browser, people: People, live: str, tmp_path: Path,
                                            artifacts_dir: Path) -> None:
    folder = tmp_path / "tiny-llama"
    folder.mkdir()
    (folder / "README.md").write_text(LLAMA_CARD)
    (folder / "model.bin").write_bytes(b"tiny llama weights")
    result = CliRunner().invoke(publish_cmd, [str(folder), "--repo", "acme/tiny-llama", "--token", people.alice,
                                              "--hub", live, "--gating", "manual"])
    assert result.exit_code == 0, result.output
    shots = artifacts_dir / "hub"
    shots.mkdir(exist_ok=True)

    bob = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    page = bob.new_page()
    sign_in(page, live, people.bob)
    page.screenshot(path=str(shots / "catalogue-390.png"), full_page=True)
    page.get_by_role("link", name="acme/tiny-llama").click()
    # the "Can I use it?" check, driven by keyboard-reachable labelled fields
    page.get_by_label("Monthly active users").first.fill("900000000")
    page.get_by_role("button", name="Check").click()
    assert page.get_by_text("Only with the licensor's permission.").is_visible()
    form = page.locator("form[action$='/request']")
    form.get_by_label("Organisation").fill("bobco")
    form.get_by_label("Monthly active users", exact=True).fill("1000")
    form.get_by_label("Country (ISO code)").fill("FR")
    form.get_by_label("I accept the licence").check()
    form.get_by_role("button", name="Request access").click()
    assert "pending" in page.locator("#my-status").inner_text()
    page.screenshot(path=str(shots / "model-pending-390.png"), full_page=True)

    alice = browser.new_context(viewport={"width": 1280, "height": 900})
    lp = alice.new_page()
    sign_in(lp, live, people.alice)
    lp.get_by_role("link", name="Licensor queue").click()
    assert lp.get_by_text("bobco").is_visible()
    lp.screenshot(path=str(shots / "queue-1280.png"), full_page=True)
    lp.get_by_role("button", name="Accept bob").click()
    assert lp.get_by_text("bob: accepted").is_visible()

    page.goto(f"{live}/models/acme/tiny-llama")
    assert page.get_by_text("You have access to the files.").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="model.bin").click()
    assert Path(download.value.path()).read_bytes() == b"tiny llama weights"
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(shots / "model-granted-1280.png"), full_page=True)
    # no horizontal scrolling at phone width
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    bob.close()
    alice.close()
