"""Chromium on the newcomer's pages at phone width (390 px): a metadata-only Llama 2
page, the leaderboard, and the chat page streaming from a stand-in gateway until
the licensor's kill switch stops it. Screenshots go to the artifacts folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hubtools import APACHE_CARD, People, catalogue_token, publish
from test_browser import sign_in
from test_web_chat import WORDS, gateway  # noqa: F401 - gateway is a fixture
from test_web_models import LLAMA2, LLAMA2_CARD

pytestmark = pytest.mark.slow
PHONE = {"width": 390, "height": 844}


def no_sideways_scroll(page) -> None:  # noqa: ANN001
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_model_and_chat_pages_at_390(browser, people: People, live: str, gateway: dict,  # noqa: F811
                                     artifacts_dir: Path) -> None:
    publish(people.hub, catalogue_token(people), LLAMA2, {"README.md": LLAMA2_CARD}, gating="auto")
    publish(people.hub, people.alice, "acme/tiny", {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"})
    shots = artifacts_dir / "hub"
    shots.mkdir(exist_ok=True)

    bob = browser.new_context(viewport=PHONE)
    page = bob.new_page()
    sign_in(page, live, people.bob)
    page.goto(f"{live}/models/{LLAMA2}")
    assert page.locator("#not-hosted").is_visible()
    page.get_by_label("Monthly active users").first.fill("800000000")
    page.get_by_role("button", name="Check").click()
    assert page.get_by_text("Only with the licensor's permission.").is_visible()
    no_sideways_scroll(page)
    page.screenshot(path=str(shots / "model-llama2-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(shots / "model-llama2-1280.png"), full_page=True)
    page.set_viewport_size(PHONE)

    page.goto(f"{live}/leaderboard")
    assert page.locator("svg.chart rect").count() >= 10
    no_sideways_scroll(page)
    page.screenshot(path=str(shots / "leaderboard-390.png"), full_page=True)

    page.goto(f"{live}/models/acme/tiny")
    page.get_by_role("link", name="Chat with this model").click()
    page.get_by_label("Your message").fill("say hello")
    page.get_by_label("Your message").press("Tab")
    page.keyboard.press("Enter")  # the Send button, by keyboard
    answer = page.locator("#conversation li.assistant .text")
    answer.filter(has_text="".join(WORDS)).wait_for()
    assert page.locator("#chat-status").inner_text() == "Done."
    no_sideways_scroll(page)

    # the licensor engages the kill switch from the chat page, on a desktop screen
    alice = browser.new_context(viewport={"width": 1280, "height": 900})
    lp = alice.new_page()
    sign_in(lp, live, people.alice)
    lp.goto(f"{live}/models/acme/tiny/chat")
    lp.get_by_label("Reason for stopping").fill("unsafe outputs")
    lp.get_by_role("button", name="Kill switch").click()
    lp.locator("#halted").filter(has_text="Kill switch engaged: unsafe outputs").wait_for()
    assert lp.get_by_role("button", name="Resume").is_visible()
    lp.screenshot(path=str(shots / "chat-licensor-halted-1280.png"), full_page=True)
    assert people.hub.control.kills()[0]["reason"] == "unsafe outputs"

    # the gateway learns of it and ends bob's next stream with model_halted
    gateway.update(mode="halt-mid", reason="unsafe outputs")
    page.get_by_label("Your message").fill("again")
    page.get_by_role("button", name="Send").click()
    stopped = page.locator("#stopped")
    stopped.wait_for()
    assert stopped.inner_text().startswith("Generation stopped:") and "unsafe outputs" in stopped.inner_text()
    no_sideways_scroll(page)
    page.screenshot(path=str(shots / "chat-halted-390.png"), full_page=True)

    lp.get_by_role("button", name="Resume").click()
    lp.get_by_role("button", name="Kill switch").wait_for()
    assert people.hub.control.kills() == []
    bob.close()
    alice.close()


def test_run_humaneval_from_the_page_in_chromium(browser, people: People, hub, settings,  # noqa: ANN001
                                                 tmp_path: Path, artifacts_dir: Path) -> None:
    from test_web_chat import serve
    from test_web_models import FAKE_EVAL

    from aperto.hub.app import create_app

    publish(hub, people.alice, "acme/tiny", {"README.md": APACHE_CARD.encode(), "model.gguf": b"GGUF"})
    go = tmp_path / "go"  # the stand-in run waits for this file, so "running…" is seen for sure
    wait_then_push = f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.05)\n" + FAKE_EVAL
    app = create_app(settings, hub)
    app.state.eval_command = lambda repo, limit, gw, hub_url: [sys.executable, "-c", wait_then_push, repo,
                                                                hub_url, str(limit)]
    with serve(app) as url:
        settings.hub_url = url
        ctx = browser.new_context(viewport=PHONE)
        page = ctx.new_page()
        sign_in(page, url, people.alice)
        page.goto(f"{url}/models/acme/tiny")
        page.get_by_label("Problems (1–20)").fill("3")
        page.get_by_role("button", name="Run HumanEval (subset)").click()
        assert page.locator(".run .run-state").inner_text() == "running…"
        no_sideways_scroll(page)
        go.touch()
        page.get_by_text("n=1, k=1, temperature 0.0, 3 samples").wait_for()  # the page reloads when done
        assert page.get_by_role("cell", name="40.0%").is_visible()
        page.screenshot(path=str(artifacts_dir / "hub" / "model-eval-done-390.png"), full_page=True)
        ctx.close()
