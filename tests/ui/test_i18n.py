"""Italian and English: every interface string has its Italian, the language follows
Accept-Language, a switch is remembered, and licence texts stay as written."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hubtools import LLAMA_CARD, People, publish
from uikit import sign_in

from aperto.hub import i18n

HUB = Path(i18n.__file__).parent


def test_every_marked_string_has_its_italian() -> None:
    # the pages, the hub's errors and the policy's reasons (which the pages show in the reader's language)
    sources = (sorted((HUB / "templates").glob("*.html")) + sorted((HUB / "routes").glob("web*.py"))
               + sorted(p for p in HUB.glob("*.py") if p.name != "i18n.py")  # i18n.py shows the markers in use
               + sorted((HUB.parent / "policy").glob("*.py")))
    table = i18n.catalogue("it")
    missing = sorted({m for p in sources for m in i18n.marked(p.read_text()) if not table.get(m)})
    assert missing == [], "run scripts/i18n_update.py and translate: " + "; ".join(missing)


def test_translations_keep_their_placeholders() -> None:
    import re

    for msgid, text in i18n.catalogue("it").items():
        assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(re.findall(r"%\(\w+\)s", text)), msgid


def test_language_negotiation() -> None:
    assert i18n.negotiate(None, "it-IT,it;q=0.9,en;q=0.8") == "it"
    assert i18n.negotiate(None, "de-DE,en;q=0.5,it;q=0.4") == "en"
    assert i18n.negotiate("it", "en") == "it"
    assert i18n.negotiate("xx", "fr") == "en"


@pytest.mark.slow
def test_switch_is_remembered_and_licences_stay_as_written(browser, people: People, live: str) -> None:
    publish(people.hub, people.alice, "acme/llama", {"README.md": LLAMA_CARD.encode(), "w.bin": b"w",
                                                     "LICENSE.md": b"ACME COMMUNITY LICENSE\nYou may use it."},
            gating="manual")
    ctx = browser.new_context(extra_http_headers={"Accept-Language": "en-GB,en;q=0.9"})
    page = ctx.new_page()
    sign_in(page, live, people.bob)
    page.goto(f"{live}/models/acme/llama")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="Italiano").click()
    assert page.url.endswith("/models/acme/llama")
    assert page.get_by_role("heading", name="Posso usarlo?").is_visible()
    page.goto(f"{live}/leaderboard")  # remembered on the next page
    assert page.locator("html").get_attribute("lang") == "it"
    assert page.get_by_role("heading", name="Classifica HumanEval").is_visible()
    page.goto(f"{live}/models/acme/llama/terms")
    assert "ACME COMMUNITY LICENSE\nYou may use it." in page.locator("pre.licence-text").inner_text()
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    ctx.close()


def test_clause_explanations_are_translated_and_licence_names_are_not(people: People, live: str) -> None:
    import httpx
    from hubtools import catalogue_token

    publish(people.hub, catalogue_token(people), "meta-llama/Llama-2-7b-hf",
            {"README.md": b"---\nlicense: llama2\n---\n# Llama 2\n"})
    page = httpx.get(f"{live}/models/meta-llama/Llama-2-7b-hf", headers={"Accept-Language": "it"}).text
    assert "<strong>Llama 2 Community License Agreement</strong>" in page  # a name, as the licensor wrote it
    assert "Una licenza mondiale, gratuita, non esclusiva" in page  # §1.a explained in Italian
    assert "A worldwide, royalty-free" not in page


def test_every_policy_sentence_has_its_italian() -> None:
    """The policy's templates and the phrases they put together (uses, categories, the hub's words around a
    request's reasons, banned uses and policy names the knowledge base quotes): none shows in English."""
    from aperto.hub.routes import web_format
    from aperto.licenses import kb
    from aperto.policy.messages import MESSAGES

    table = i18n.catalogue("it")
    wanted = set(MESSAGES) | set(web_format.POLICY_NAMES.values()) | set(web_format.REQUEST_REASONS)
    for lic in kb.all():
        for t in lic.terms:
            wanted |= {str(b).replace("-", " ") for b in t.params.get("banned") or []}
            if t.kind == "pass-through" and t.params.get("what"):
                wanted.add(str(t.params["what"]))
            if t.kind == "acceptable-use" and t.params.get("policy"):
                wanted.add(web_format.POLICY_NAMES.get(str(t.params["policy"]), str(t.params["policy"])))
    assert sorted(m for m in wanted if not table.get(m)) == []


def test_a_decision_reads_in_italian_with_its_figures_and_names_as_data() -> None:
    from aperto.hub.licensing import evaluate
    from aperto.hub.routes.web_format import explain
    from aperto.policy import Profile

    decision = evaluate("llama3.2", Profile(mau=800_000_000, country="IT", multimodal=True, redistribute=True,
                                            publish_finetune=True, derivative_name="acme/Tuned"))
    said = explain(decision, "it")
    reasons = " ".join(str(text) for _, text in said["reasons"])
    obligations = " ".join(str(text) for _, text in said["obligations"])
    assert "sono 800.000.000, più di 700.000.000" in reasons  # Italian figures
    assert "con sede principale, in UE; il paese dichiarato è" in reasons
    assert 'Rinomina il derivato in modo che cominci con «<span translate="no">Llama</span>»' in obligations
    assert "Rispetta la Acceptable Use Policy di Llama 3.2" in obligations
    assert "Declared" not in reasons and "Comply" not in obligations
    english = explain(decision, "en")
    assert any(str(t).startswith("Declared monthly active users (own plus affiliates&#39;") for _, t in english["reasons"])


def test_a_request_without_a_licence_reads_in_italian() -> None:
    from aperto.hub.licensing import evaluate, first_reason
    from aperto.hub.routes.web_format import request_reason
    from aperto.policy import Profile

    decision = evaluate(None, Profile())
    old = {"reason": "waiting for the licensor: " + first_reason(decision), "decision": decision}  # no template
    said = request_reason(old, "it")
    assert said == "in attesa del licenziante: nessuna licenza identificata; decide il licenziante"
    typed = request_reason({"reason": "not this quarter, sorry", "reason_msgid": "", "decision": decision}, "it")
    assert typed == '<span translate="no">not this quarter, sorry</span>'  # a licensor's words stay theirs


def test_hub_errors_keep_english_for_the_api_and_read_in_italian_on_pages(people: People) -> None:
    from aperto.errors import ApertoError
    from aperto.hub.routes.web_format import error_said
    from aperto.policy import Profile

    publish(people.hub, people.alice, "acme/open", {"README.md": b"---\nlicense: mit\n---\n# Open\n"})
    bob = people.caller(people.bob)
    for call, english, italian in [
        (lambda: people.hub.access.my_request(bob, "acme/open"), "you have not asked for access to acme/open",
         "non hai chiesto l'accesso a acme/open"),
        (lambda: people.hub.access.request_access(bob, "acme/open", {"accepts_aup": True}),
         "acme/open is not gated: anyone may download it", "acme/open non è ad accesso controllato"),
        (lambda: people.hub.access.request_access(bob, "acme/open", {"mau": "lots", "accepts_aup": True}),
         "mau must be a whole number", "mau deve essere un numero intero"),
        (lambda: people.hub.repos.repo("acme/none"), "Repository acme/none not found", "Repository acme/none non trovato"),
        (lambda: people.hub.repos.withdraw(people.caller(people.alice), "acme/open", " "), "a takedown needs a reason",
         "un ritiro ha bisogno di un motivo"),
        (lambda: people.hub.tokens.create_token(bob, "bob", ["read"], expires="2020-01-01"),
         "the expiry 2020-01-01 is in the past", "la scadenza 2020-01-01 è nel passato"),
        (lambda: people.hub.invites.accept("no-such-code", "carol"), "this invitation link is not known here",
         "questo link di invito qui non è conosciuto"),
        (lambda: people.hub.tokens.create_user(people.caller(people.admin), "bad name"),
         "invalid user name: 'bad name'", "nome utente non valido: 'bad name'"),
        (lambda: Profile(country="XX"), "unknown country code 'XX'", "codice di paese sconosciuto 'XX'"),
    ]:
        with pytest.raises(ApertoError) as caught:
            call()
        assert caught.value.message == english and caught.value.to_dict()["message"] == english
        message, still_english, _hint, _ = error_said(caught.value, "it")
        assert message.startswith(italian) and not still_english
    untemplated = ApertoError("something else went wrong")
    assert error_said(untemplated, "it")[:2] == ("something else went wrong", True)  # shown marked lang="en"


# the hub's services, the web routes that raise and the profile's validation: every error they raise is a marked template
ERROR_MODULES = ([HUB / f"{name}.py" for name in ("access", "auth", "control", "evals", "gate", "gate_form", "invites",
                                                   "listing", "sessions", "tokens", "usage", "webhooks")]
                 + [HUB / "routes" / f"{name}.py" for name in ("web_admin", "web_chat", "web_evals")]
                 + [HUB.parent / "policy" / "profile.py"])


def test_every_error_the_services_raise_is_a_template_with_its_italian() -> None:
    """A message or hint written as plain text (or an f-string) cannot be translated: it would show
    in English on an Italian page. Constants count when they are marked where they are defined."""
    import ast

    from aperto import errors

    kinds = {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, errors.ApertoError)}
    table = i18n.catalogue("it")

    def template(node: ast.expr | None) -> str | None:
        marked = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_"
        return ast.literal_eval(node.args[0]) if marked else None  # type: ignore[union-attr]

    untemplated, untranslated = [], []
    for path in ERROR_MODULES:
        tree = ast.parse(path.read_text())
        constants: dict[str, list[str | None]] = {}  # module constants: a marked string, or a dict of them
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign | ast.AnnAssign):
                target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
                if isinstance(target, ast.Name) and stmt.value is not None:
                    value = stmt.value
                    constants[target.id] = ([template(v) for v in value.values] if isinstance(value, ast.Dict)
                                            else [template(value)])
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                    and isinstance(node.exc.func, ast.Name) and node.exc.func.id in kinds):
                continue
            for arg in node.exc.args[:1] + [k.value for k in node.exc.keywords if k.arg == "hint"]:
                if isinstance(arg, ast.Attribute) and arg.attr == "msgid":
                    continue  # a template carried from where it was marked (gate_form's Problem)
                name = arg.value if isinstance(arg, ast.Subscript) else arg
                said = [template(arg)] if template(arg) else constants.get(getattr(name, "id", ""), [None])
                if None in said:
                    untemplated.append(f"{path.name}:{node.lineno}")
                untranslated += [s for s in said if s and not table.get(s)]
    assert untemplated == [], "raise these with N_(template) and values="
    assert untranslated == [], "add their Italian to messages.po"


def test_the_hubs_own_reasons_read_in_italian_when_the_policy_cannot_decide() -> None:
    from aperto.hub.licensing import EVALUATION_FAILED, evaluate
    from aperto.hub.routes.web_format import explain
    from aperto.policy import Profile

    unknown = evaluate("acme-private-1.0", Profile())
    assert unknown["reasons"][0]["text"] == "licence 'acme-private-1.0' is not in the knowledge base; the licensor decides"
    said = str(explain(unknown, "it")["reasons"][0][1])
    assert said == ('la licenza <span translate="no">&#39;acme-private-1.0&#39;</span> non è nella base di conoscenza; '
                    "decide il licenziante")
    failed = {"reasons": [{"clause": "", "text": EVALUATION_FAILED % {"error": "no such clause (fix the data)"}}]}
    said = str(explain(failed, "it")["reasons"][0][1])
    assert said == ('la valutazione automatica non è riuscita (<span lang="en">no such clause (fix the data)</span>); '
                    "decide il licenziante")  # the error's own words, honestly marked English


def test_every_reason_the_hub_gives_a_request_reads_in_italian() -> None:
    """The hub's words around the policy's reasons (hub/access.py's routing) are matched exactly by the
    page: a change there would otherwise show as a licensor's own words, untranslated."""
    from types import SimpleNamespace

    from aperto.hub.access import Access
    from aperto.hub.licensing import evaluate, first_reason
    from aperto.hub.routes.web_format import request_reason
    from aperto.policy import Profile
    from aperto.policy.messages import values_to_json

    decisions = [evaluate("llama2", Profile(mau=800_000_000)), evaluate("llama2", Profile()),
                 evaluate("llama2", Profile(accepts_aup=False))]
    waiting = SimpleNamespace(status="pending", decided_by=None)
    refused = SimpleNamespace(status="rejected", decided_by="alice")
    seen = set()
    for gating, prev, holds, changed, decision in itertools.product(
            ("auto", "manual"), (None, waiting, refused), (False, True), (False, True), decisions):
        status, reason, _by = Access._route(SimpleNamespace(gating=gating), prev, holds, changed, decision)
        row = {"reason": reason.text, "reason_msgid": reason.msgid, "reason_values": values_to_json(reason.values),
               "decision": decision}
        said = str(request_reason(row, "it"))
        old = {"reason": reason.text, "decision": {**decision, "reasons": [  # as stored before templates were
            {k: v for k, v in r.items() if k not in ("msgid", "values")} for r in decision["reasons"]]}}
        assert str(request_reason(old, "it")) == said  # matched by its English text, it reads the same
        assert 'translate="no">' + reason.text[:20] not in said, reason
        assert first_reason(decision)[:30] not in said, said  # the policy's reasons are said in Italian too
        seen.add(said.split(":")[0])
    assert len(seen) >= 8
    for typed in ("accepted by the licensor", "back to review", "rejected by the licensor", "revoked by the licensor"):
        said = str(request_reason({"reason": typed}, "it"))  # rows from before templates were stored
        assert "licenziante" in said or "revisione" in said


def test_every_clause_explanation_has_its_italian() -> None:
    """Each headline and clause summary the knowledge base can show (the model page, the policy's reasons) has an
    entry in clauses.po, keeping the clause references and quoted names (§1.b.i, "Built with Llama") as they are."""
    import re

    from aperto.licenses import kb

    table = i18n.catalogue("it")
    shown = {(lic.id, s) for lic in kb.all() for s in [*lic.headline, *(t.summary for t in lic.terms)]}
    missing = sorted(f"{lid}: {s}" for lid, s in shown if not table.get(s))
    assert missing == [], "add their Italian to hub/locale/it/LC_MESSAGES/clauses.po: " + "; ".join(missing)
    for _, s in shown:
        kept = [ref.rstrip(".,)") for ref in re.findall(r'§[\w.()\-]+|"[^"]+"', s)]
        assert [ref for ref in kept if ref not in table[s]] == [], s
