from pathlib import Path

import pytest
import yaml

from workflows.loader import DEFINITIONS_DIR, DefinitionError, load_all, load_file, parse_definition


def minimal(**step_overrides):
    step = {"key": "a", "title": {"vi": "Bước A", "en": "Step A"}, "phase": "p"}
    step.update(step_overrides)
    return {"key": "wf", "version": 1, "subject": "unit", "title": {"vi": "Quy trình", "en": "Workflow"},
            "phases": [{"key": "p", "title": {"vi": "Giai đoạn", "en": "Phase"}}],
            "steps": [step, {"key": "b", "title": {"vi": "Bước B", "en": "Step B"}, "phase": "p",
                             "requires": ["a"]}]}


def problems_of(raw) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        parse_definition(raw, "wf.yaml")
    return info.value.problems


def test_shipped_definitions_are_valid():
    found = load_all()
    assert set(found) == {"commune_congress", "branch_congress", "province_congress", "front_commune_congress"}
    unit = found["commune_congress"]
    assert (unit.organisation, unit.level, unit.children.source, unit.children.workflow) == (
        "party", "commune", "branches", "branch_congress")
    province = found["province_congress"]
    assert (province.level, province.children.source, province.children.level, province.children.held_step) == (
        "province", "units", "commune", "congress")
    assert province.step("commune_congresses").done_when == "all_children_held"
    front = found["front_commune_congress"]
    assert (front.organisation, front.children) == ("fatherland_front", None)
    for definition in (unit, province, front):
        produced = {s.document for s in definition.steps if s.document} | set(definition.drafts)
        assert produced <= set(definition.documents)
    assert unit.subject == "unit"
    branch_step = unit.step("branch_congresses")
    assert branch_step.done_when == "all_branches_held"
    assert {s.key for s in unit.steps if s.approval} == {"documents_approval", "personnel_plan"}
    assert all(s.title_vi and s.title_en for s in unit.steps)
    assert found["branch_congress"].step("congress").done_when == "branch_held"


def test_unknown_prerequisite_names_file_and_step():
    raw = minimal()
    raw["steps"][1]["requires"] = ["missing"]
    assert problems_of(raw) == ["wf.yaml: step 'b': unknown prerequisite 'missing'"]


def test_cycle_is_reported_with_its_path():
    raw = minimal(requires=["b"])
    [line] = problems_of(raw)
    assert line.startswith("wf.yaml: step '") and "cycle" in line
    assert "a -> b -> a" in line or "b -> a -> b" in line


def test_duplicate_key():
    raw = minimal()
    raw["steps"].append({"key": "a", "title": {"vi": "x", "en": "x"}, "phase": "p"})
    assert "wf.yaml: step 'a': duplicate key" in problems_of(raw)


@pytest.mark.parametrize("due, fragment", [
    ({"from": "moon", "offset": 1}, "'from' must be one of"),
    ({"from": "congress", "offset": "ten"}, "offset 'ten' is not a whole number"),
    ({"from": "congress", "offset": 1, "days": "lunar"}, "days 'lunar'"),
    ({"date": "2025-02-30"}, "is not a YYYY-MM-DD date"),
    ({"date": "2025-08-20", "kind": "around"}, "kind 'around'"),
    ({"from": "congress", "when": 3}, "unknown field(s) when"),
    ("tomorrow", "expected a mapping"),
])
def test_bad_due_rules(due, fragment):
    [line] = problems_of(minimal(due=due))
    assert line.startswith("wf.yaml: step 'a': bad due rule")
    assert fragment in line


def test_unknown_document_kind_and_rule_and_phase():
    lines = problems_of(minimal(document="poem", done_when="moon_is_full", phase="q"))
    assert "wf.yaml: step 'a': unknown document kind 'poem'" in lines
    assert "wf.yaml: step 'a': unknown done_when rule 'moon_is_full'" in lines
    assert "wf.yaml: step 'a': unknown phase 'q'" in lines


def test_rule_for_the_wrong_subject():
    [line] = problems_of(minimal(done_when="branch_held"))
    assert "does not apply to a unit" in line


def test_bad_weight_and_missing_title():
    lines = problems_of(minimal(weight=0, title={"vi": "chỉ tiếng Việt"}))
    assert any("weight 0" in line for line in lines)
    assert any("title needs both 'vi' and 'en'" in line for line in lines)


def test_all_problems_of_a_folder_at_once(tmp_path: Path):
    raw = minimal(document="poem")
    raw["steps"][1]["requires"] = ["ghost"]
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    (tmp_path / "two.yaml").write_text("key: [unclosed", encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_all(tmp_path)
    text = "\n".join(info.value.problems)
    assert "one.yaml: step 'a': unknown document kind 'poem'" in text
    assert "one.yaml: step 'b': unknown prerequisite 'ghost'" in text
    assert "two.yaml: cannot read the file" in text


def test_checksum_changes_with_content_only(tmp_path: Path):
    source = (DEFINITIONS_DIR / "commune_congress.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(source, encoding="utf-8")
    (tmp_path / "b.yaml").write_text("# a comment changes nothing\n" + source, encoding="utf-8")
    (tmp_path / "c.yaml").write_text(source.replace("weight: 20", "weight: 25"), encoding="utf-8")
    a, b, c = (load_file(tmp_path / n) for n in ("a.yaml", "b.yaml", "c.yaml"))
    assert a.checksum == b.checksum != c.checksum


def test_a_roll_up_of_children_needs_a_children_section():
    raw = minimal()
    raw["steps"][0]["done_when"] = "all_children_held"
    assert problems_of(raw) == ["wf.yaml: step 'a': done_when rule 'all_children_held' needs a 'children' "
                                "section saying what it counts"]


def test_children_sections_name_their_source_in_full():
    raw = minimal()
    raw["children"] = {"source": "units", "level": "commune", "label": {"vi": "xã", "en": "communes"}}
    assert problems_of(raw) == ["wf.yaml: children: units name the 'level' of the child campaign (commune, "
                                "province) and its 'held_step' (and no workflow)"]
    raw["children"] = {"source": "villages", "label": {"vi": "thôn", "en": "villages"}}
    assert problems_of(raw) == ["wf.yaml: children: 'source' must be one of branches, units, not 'villages'"]
    raw["children"] = {"source": "branches", "workflow": "branch_congress", "label": {"vi": "chi bộ", "en": "branches"}}
    raw["steps"][0]["done_when"] = "all_children_held"
    parse_definition(raw, "wf.yaml")


def test_the_document_set_lists_every_kind_its_steps_produce():
    raw = minimal()
    raw["steps"][0]["document"] = "congress_plan"
    raw["documents"] = ["political_report"]
    assert problems_of(raw) == ["wf.yaml: documents: 'congress_plan' is produced by a step or drafted but not listed"]
    raw["documents"] = ["congress_plan", "no_such_kind"]
    assert problems_of(raw) == ["wf.yaml: documents: unknown document kind 'no_such_kind'"]
    del raw["documents"]
    assert parse_definition(raw, "wf.yaml").documents == ("congress_plan",)


def test_a_stored_definition_from_before_children_still_reads_its_branches():
    raw = minimal()
    raw["steps"][0]["done_when"] = "all_branches_held"
    definition = parse_definition(raw, "wf.yaml")
    assert definition.children.source == "branches"
    raw["level"] = "region"
    assert problems_of(raw) == ["wf.yaml: 'level' must be one of commune, province, not 'region'"]


# --- who approves: the level above the units ----------------------------------------------------

def test_each_shipped_unit_workflow_names_its_approver():
    found = load_all()
    words = {key: (d.approver.vi, d.approver.en) for key, d in found.items() if d.subject == "unit"}
    assert words == {"commune_congress": ("Thành ủy", "the city"),
                     "province_congress": ("Bộ Chính trị", "the Politburo"),
                     "front_commune_congress": ("Ủy ban MTTQ thành phố", "the city's Front committee")}
    for definition in found.values():
        if definition.subject == "unit":
            assert "approver" in definition.raw, definition.key  # named in the file, not left to the default
    front = found["front_commune_congress"].approver
    assert front.words("vi", long=True) == "Ủy ban Mặt trận Tổ quốc Việt Nam thành phố"
    assert found["province_congress"].approver.words("en", long=True) == "the Politburo and the Secretariat"


def test_a_definition_without_an_approver_has_the_citys_words():
    from workflows.rules import LIFECYCLE

    definition = parse_definition(minimal(), "wf.yaml")  # written before workflows named their approver
    assert definition.approver == LIFECYCLE.approver == load_all()["commune_congress"].approver
    assert LIFECYCLE.label("submitted", "vi", definition.approver) == "đã trình Thành ủy"
    named = parse_definition({**minimal(), "approver": {"vi": "Bộ Chính trị", "en": "the Politburo"}}, "wf.yaml")
    assert (named.approver.vi, named.approver.words("en", long=True)) == ("Bộ Chính trị", "the Politburo")


@pytest.mark.parametrize("approver", [
    "Thành ủy",
    {"vi": "Thành ủy"},
    {"vi": "", "en": "the city"},
    {"vi": "Thành ủy", "en": 7},
    {"vi": "Thành ủy", "en": "the city", "short": "TU"},
    {"vi": "Thành ủy", "en": "the city", "long": "Ban Thường vụ Thành ủy"},
    {"vi": "Thành ủy", "en": "the city", "long": {"vi": "Ban Thường vụ Thành ủy"}},
    {"vi": "Thành ủy 100%", "en": "the city"},
    {"vi": "x" * 101, "en": "the city"},
    None,
])
def test_a_malformed_approver_is_refused_in_one_line(approver):
    assert problems_of({**minimal(), "approver": approver}) == [
        "wf.yaml: 'approver' must give the words of the level that approves the steps, {vi: ..., en: ...} "
        "(at most 100 characters each, no '%'), and may give them in full as long: {vi: ..., en: ...}"]


def test_only_a_units_workflow_names_an_approver():
    raw = {**minimal(), "subject": "branch", "approver": {"vi": "Thành ủy", "en": "the city"}}
    assert problems_of(raw) == [
        "wf.yaml: only a unit's workflow names its 'approver' (a branch's steps go to its unit)"]
