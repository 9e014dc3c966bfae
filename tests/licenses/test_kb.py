"""The licence knowledge base: every data file loads and validates, and the key facts per family hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aperto.errors import InvalidData, UnknownLicense
from aperto.licenses import kb
from aperto.licenses.terms import Category, Kind, License

FULL = ["llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma", "bigscience-openrail-m",
        "bigscience-bloom-rail-1.0", "creativeml-openrail-m", "openrail++", "bigcode-openrail-m", "tii-falcon-180b",
        "tongyi-qianwen", "qwen", "qwen-research", "tongyi-qianwen-research", "deepseek", "mistral-mnpl-0.1",
        "mistral-mrl-0.1", "cc-by-nc-4.0", "apache-2.0", "mit", "bsd-3-clause", "closed-api-only"]
LLAMAS = ["llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4"]
RAILS = ["bigscience-openrail-m", "bigscience-bloom-rail-1.0", "creativeml-openrail-m", "openrail++",
         "bigcode-openrail-m", "deepseek"]
META_FILES = {"llama2": "llama2", "llama3": "llama3", "llama3.1": "llama3_1", "llama3.2": "llama3_2",
              "llama3.3": "llama3_3", "llama4": "llama4"}


def one(lic: License, kind: Kind):
    found = lic.of_kind(kind)
    assert len(found) == 1, f"{lic.id}: expected one {kind.value} term, got {len(found)}"
    return found[0]


# --- loading and validation ---------------------------------------------------------------------------

def test_every_data_file_loads_and_validates() -> None:
    files = sorted(kb.DATA_DIR.glob("*.toml"))
    assert len(files) >= len(FULL)
    loaded = [lic for f in files for lic in kb.load_file(f)]
    assert {lic.id for lic in loaded} >= set(FULL)
    assert len(kb.all()) == len(loaded)


@pytest.mark.parametrize("lid", FULL)
def test_full_entries_have_terms_clauses_and_headline(lid: str) -> None:
    lic = kb.get(lid)
    assert lic.full_terms and lic.terms
    assert 1 <= len(lic.headline) <= 5
    for t in lic.terms:
        assert t.clause.strip() and t.summary.strip(), f"{lid} {t.kind}"
    assert lic.has(Kind.GRANT)


def test_every_term_of_every_licence_has_a_clause() -> None:
    for lic in kb.all():
        for t in lic.terms:
            assert t.clause.strip(), f"{lic.id}: {t.kind.value} has an empty clause"


def test_categories() -> None:
    cat = {lid: kb.get(lid).category for lid in FULL}
    for lid in ("apache-2.0", "mit", "bsd-3-clause"):
        assert cat[lid] == Category.OPEN_SOURCE and kb.get(lid).osi_approved and kb.get(lid).spdx
    for lid in LLAMAS + RAILS + ["gemma", "tii-falcon-180b", "qwen", "tongyi-qianwen"]:
        assert cat[lid] == Category.OPEN_WEIGHTS_RESTRICTED, lid
    for lid in ("cc-by-nc-4.0", "mistral-mnpl-0.1", "mistral-mrl-0.1", "qwen-research", "tongyi-qianwen-research"):
        assert cat[lid] == Category.NONCOMMERCIAL_RESEARCH, lid
    assert cat["closed-api-only"] == Category.CLOSED


def test_lookup_is_case_insensitive_and_knows_aliases() -> None:
    assert kb.get("LLAMA3.1").id == "llama3.1"
    assert kb.get("  llama-2-community-license ").id == "llama2"
    assert kb.get("gemma-terms-of-use").id == "gemma"
    assert kb.get("LicenseRef-scancode-llama-2-license-2023").id == "llama2"
    assert kb.get("mrl").id == "mistral-mrl-0.1"
    assert kb.get("deepseek-license").id == "deepseek"
    assert kb.find("no-such-licence") is None
    assert kb.ids() == sorted(kb.ids())


def test_llama_license_alias_is_not_llama2() -> None:
    # "llama-license" is what LLaMA 1 repos (huggyllama, decapoda) were labelled: not Llama 2.
    assert kb.find("llama-license") is None or kb.get("llama-license").id != "llama2"


def test_unknown_licence_raises_with_a_hint() -> None:
    with pytest.raises(UnknownLicense) as err:
        kb.get("wtfpl-9")
    assert err.value.hint and "list" in err.value.hint
    assert err.value.code == "unknown_license"


def test_unknown_kind_is_rejected_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text('id = "x"\nname = "X"\nversion = "1"\ncategory = "closed"\n\n'
                   '[[terms]]\nkind = "teleportation"\nclause = "§1"\nsummary = "s"\n')
    with pytest.raises(InvalidData, match="broken.toml.*teleportation"):
        kb.load_file(bad)


def test_unknown_category_and_empty_clause_are_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "cat.toml"
    bad.write_text('id = "x"\nname = "X"\nversion = "1"\ncategory = "sort-of-open"\n')
    with pytest.raises(InvalidData, match="cat.toml.*sort-of-open"):
        kb.load_file(bad)
    bad.write_text('id = "x"\nname = "X"\nversion = "1"\ncategory = "closed"\n\n'
                   '[[terms]]\nkind = "grant"\nclause = " "\nsummary = "s"\n')
    with pytest.raises(InvalidData, match="no clause"):
        kb.load_file(bad)


def test_multi_licence_file_and_alias_clash(tmp_path: Path) -> None:
    (tmp_path / "_minor.toml").write_text(
        '[[license]]\nid = "a"\nname = "A"\nversion = ""\ncategory = "closed"\naliases = ["shared"]\n'
        'headline = ["h"]\n\n[[license]]\nid = "b"\nname = "B"\nversion = "1"\ncategory = "open-source"\n')
    got = kb.load_dir(tmp_path)
    assert [lic.id for lic in got] == ["a", "b"] and not got[0].full_terms
    (tmp_path / "z.toml").write_text('id = "c"\nname = "C"\nversion = "1"\ncategory = "closed"\naliases = ["SHARED"]\n')
    with pytest.raises(InvalidData, match="already taken"):
        kb.load_dir(tmp_path)


# --- key facts per family -----------------------------------------------------------------------------

@pytest.mark.parametrize("lid", LLAMAS)
def test_llama_threshold_is_700m_with_affiliates_at_release_date(lid: str) -> None:
    t = one(kb.get(lid), Kind.USER_THRESHOLD)
    assert t.clause == "§2"
    assert t.params["mau"] == 700_000_000
    assert t.params["includes_affiliates"] is True
    assert t.params["measured_at"] == "release-date"
    assert t.params["outcome"] == "needs-licensor-grant"


@pytest.mark.parametrize("lid", LLAMAS)
def test_llama_output_use_only_in_2_and_3(lid: str) -> None:
    outputs = kb.get(lid).of_kind(Kind.OUTPUT_USE)
    if lid in ("llama2", "llama3"):
        assert [t.clause for t in outputs] == ["§1.b.v"]
        assert outputs[0].params["no_improving_other_models"] is True
    else:
        assert outputs == []


@pytest.mark.parametrize("lid", LLAMAS)
def test_llama_eu_geography_only_from_3_2(lid: str) -> None:
    geo = kb.get(lid).of_kind(Kind.GEOGRAPHY)
    if lid in ("llama3.2", "llama3.3", "llama4"):
        assert len(geo) == 1
        p = geo[0].params
        assert p["excluded"] == ["EU"] and p["applies_to"] == "multimodal-models" and p["not_end_users"] is True
        assert geo[0].clause.startswith("AUP")
    else:
        assert geo == []


@pytest.mark.parametrize("lid", LLAMAS)
def test_llama_common_terms(lid: str) -> None:
    lic = kb.get(lid)
    aup = one(lic, Kind.ACCEPTABLE_USE)
    assert aup.clause == "§1.b.iv" and aup.params["incorporated_by_reference"] is True
    banned = {b for t in lic.of_kind(Kind.FIELD_OF_USE) for b in t.params["banned"]}
    assert {"military", "espionage", "weapons"} <= banned
    assert one(lic, Kind.GOVERNING_LAW).params["law"].startswith("California")
    assert one(lic, Kind.TERMINATION).clause == "§6"
    assert one(lic, Kind.TRADEMARK).clause == "§5.a"
    notice = [t for t in lic.of_kind(Kind.NOTICE) if t.clause == "§1.b.iii"]
    assert len(notice) == 1 and "Meta Platforms" in notice[0].params["text"]


def test_llama_naming_and_attribution() -> None:
    assert kb.get("llama2").of_kind(Kind.NAMING) == [] and kb.get("llama2").of_kind(Kind.ATTRIBUTION) == []
    l3 = kb.get("llama3")
    assert one(l3, Kind.NAMING).params["prefix"] == "Llama 3"
    assert one(l3, Kind.ATTRIBUTION).params["text"] == "Built with Meta Llama 3"
    for lid in ("llama3.1", "llama3.2", "llama3.3", "llama4"):
        lic = kb.get(lid)
        assert one(lic, Kind.NAMING).params["prefix"] == "Llama"
        assert one(lic, Kind.NAMING).params["includes_output_trained"] is True
        assert one(lic, Kind.ATTRIBUTION).params["text"] == "Built with Llama"


def test_gemma() -> None:
    g = kb.get("gemma")
    assert not g.has(Kind.USER_THRESHOLD)
    assert one(g, Kind.PASS_THROUGH).clause == "§3.1"
    assert one(g, Kind.REMOTE_RESTRICTION).clause == "§3.2"
    assert one(g, Kind.ACCEPTABLE_USE).params["policy"] == "gemma-prohibited-use-policy"


@pytest.mark.parametrize("lid", RAILS)
def test_rail_pass_through_and_remote_restriction(lid: str) -> None:
    lic = kb.get(lid)
    pt = one(lic, Kind.PASS_THROUGH)
    assert pt.params["as_enforceable_provision"] is True
    assert one(lic, Kind.REMOTE_RESTRICTION).clause == "para 7"
    assert any(t.params.get("banned") for t in lic.of_kind(Kind.FIELD_OF_USE))


def test_deepseek_bans_military_under_prc_law() -> None:
    ds = kb.get("deepseek")
    assert "military" in one(ds, Kind.FIELD_OF_USE).params["banned"]
    assert one(ds, Kind.GOVERNING_LAW).params["law"] == "People's Republic of China"


def test_qwen_family() -> None:
    for lid in ("qwen", "tongyi-qianwen"):
        t = one(kb.get(lid), Kind.USER_THRESHOLD)
        assert t.clause == "§4" and t.params["mau"] == 100_000_000 and t.params["commercial_only"] is True
    assert one(kb.get("tongyi-qianwen"), Kind.OUTPUT_USE).clause == "§5.b"
    assert not kb.get("qwen").has(Kind.OUTPUT_USE)
    assert one(kb.get("qwen"), Kind.ATTRIBUTION).params["text"] == "Built with Qwen"
    for lid in ("qwen-research", "tongyi-qianwen-research"):
        lic = kb.get(lid)
        assert lic.has(Kind.NON_COMMERCIAL) and not lic.has(Kind.USER_THRESHOLD)


def test_falcon_180b_hosting_needs_a_separate_licence() -> None:
    f = kb.get("tii-falcon-180b")
    h = one(f, Kind.HOSTING)
    assert h.clause == "§9" and h.params["needs_separate_license"] is True
    assert any(t.params.get("may_change") for t in f.of_kind(Kind.ACCEPTABLE_USE))


def test_mistral_and_cc() -> None:
    assert one(kb.get("mistral-mnpl-0.1"), Kind.NON_PRODUCTION).clause == "§3.2"
    mrl = kb.get("mistral-mrl-0.1")
    assert mrl.has(Kind.RESEARCH_ONLY) and mrl.has(Kind.NON_COMMERCIAL)
    cc = kb.get("cc-by-nc-4.0")
    assert cc.has(Kind.NON_COMMERCIAL) and cc.has(Kind.ATTRIBUTION) and cc.spdx == "CC-BY-NC-4.0"


# --- clause references checked against the real texts -------------------------------------------------

def _text(shared: Path, rel: str) -> str:
    return re.sub(r"\s+", " ", (shared / "licenses" / rel).read_text(encoding="utf-8"))


@pytest.mark.parametrize("lid", LLAMAS)
def test_llama_clauses_exist_in_the_meta_texts(shared_dir: Path, lid: str) -> None:
    lic = kb.get(lid)
    text = _text(shared_dir, f"meta-llama/{META_FILES[lid]}_LICENSE.txt")
    # §2 is the threshold section, and it names 700 million.
    assert re.search(r"2\\?\. (\*\*)?Additional Commercial Terms", text)
    section2 = text[text.index("Additional Commercial Terms"):]
    assert "700 million monthly active users" in section2[:600]
    assert "affiliates" in section2[:600]
    # §1.b.v exists exactly where we cite an output-use term.
    has_v = re.search(r"\bv\. You will not use the Llama Materials or any output", text) is not None
    assert has_v == lic.has(Kind.OUTPUT_USE)
    # The version's own notice sentence is in the text.
    notice = next(t for t in lic.of_kind(Kind.NOTICE) if t.clause == "§1.b.iii")
    assert notice.params["text"] in text
    # Naming prefix and "Built with" string are quoted by the text.
    for t in lic.of_kind(Kind.ATTRIBUTION):
        assert f"“{t.params['text']}”" in text
    for t in lic.of_kind(Kind.NAMING):
        assert f"include “{t.params['prefix']}” at the beginning" in text
    mark = one(lic, Kind.TRADEMARK)
    if mark.params["granted"]:
        assert f"Meta hereby grants you a license to use “{mark.params['mark']}”" in text
    else:
        assert "Meta hereby grants you a license to use" not in text


@pytest.mark.parametrize("lid", LLAMAS)
def test_llama_eu_clause_is_in_the_use_policy(shared_dir: Path, lid: str) -> None:
    policy = _text(shared_dir, f"meta-llama/{META_FILES[lid]}_USE_POLICY.md")
    in_policy = "principal place of business in, the European Union" in policy
    assert in_policy == kb.get(lid).has(Kind.GEOGRAPHY)
    assert "Military, warfare, nuclear industries" in policy


def test_other_clause_numbers_exist_in_their_texts(shared_dir: Path) -> None:
    qwen = _text(shared_dir, "qwen/scancode_qwen-2024.txt")
    assert "4. Restrictions If you are commercially using the Materials" in qwen and "100 million" in qwen
    tongyi = _text(shared_dir, "qwen/Tongyi_Qianwen_LICENSE_AGREEMENT.txt")
    assert "b. You can not use the Materials or any output therefrom to improve any other large" in tongyi
    falcon = _text(shared_dir, "tii-falcon/sinotec2-FAQ_falcon170BTOU.md")
    assert "9. Hosting Use" in falcon and "9.3." in falcon
    ds = _text(shared_dir, "deepseek/DeepSeek-LLM_LICENSE-MODEL.txt")
    assert "For military use in any way" in ds and "14. Governing Law" in ds and "7. Updates and Runtime" in ds
    gemma = _text(shared_dir, "google-gemma/scancode_gemma-tou-2025-03-24.txt")
    assert "3.2 Use Restrictions" in gemma and "restrict (remotely or otherwise)" in gemma
    mnpl = _text(shared_dir, "mistral/gentoo_MNPL-0.1.md")
    assert "**3.2. Usage Limitation**" in mnpl and "Non-Production Environments" in mnpl


def test_every_hugging_face_licence_id_is_known(shared_dir: Path) -> None:
    import re

    page = (shared_dir / "licenses" / "_reference" / "hf_hub-docs_repositories-licenses.md").read_text()
    ids = re.findall(r"\|\s*`([a-z0-9.+-]+)`\s*\|", page)
    assert len(ids) > 80
    assert [i for i in ids if kb.find(i) is None] == ["unknown", "other"]


@pytest.mark.parametrize("lid,category", [("gpl-3.0", "open-source"), ("agpl-3.0", "open-source"),
                                          ("cc-by-nc-sa-4.0", "noncommercial-research"),
                                          ("cc-by-nd-4.0", "open-weights-restricted"), ("unlicense", "open-source"),
                                          ("chatglm", "open-weights-restricted"), ("yi-license", "open-weights-restricted")])
def test_new_families_have_a_category_and_a_headline(lid: str, category: str) -> None:
    lic = kb.get(lid)
    assert lic.category.value == category and lic.headline


def test_registries_point_at_known_families_and_references() -> None:
    from aperto.licenses import fingerprints, lineage, revisions

    refs = {s.ref for s in fingerprints.load().signatures}
    for rev in revisions.all_revisions():
        assert kb.find(rev.family) is not None and set(rev.refs) <= refs, rev.title
    for lid in kb.ids():
        kind, relicense, _why = lineage.rule(lid)
        assert relicense == (kind == "permissive")
    assert lineage.rule("llama3.1")[0] == "pass-through" and lineage.rule("mpl-2.0")[0] == "copyleft"
