"""Recipes: the shipped ones load; unknown keys, filters and parameters are rejected with the reason."""

from __future__ import annotations

import pytest

from r1harness.curate.recipe import load_recipe, recipe_from_dict
from r1harness.errors import ConfigError


def test_shipped_recipes_load_and_round_trip():
    r1 = load_recipe("r1")
    assert {q.group: q.count for q in r1.quotas} == {"reasoning": 600_000, "general": 200_000}
    assert [f.name for f in r1.filters][:2] == ["correct", "not_truncated"]
    tiny = load_recipe("tiny")
    again = recipe_from_dict(tiny.to_dict())
    assert again.to_dict() == tiny.to_dict()


def _base(**over):
    raw = load_recipe("tiny").to_dict()
    raw.update(over)
    return raw


@pytest.mark.parametrize(
    "raw, message",
    [
        (_base(bogus=1), "unknown key(s) ['bogus']"),
        (_base(filters={"sparkles": {}}), "unknown filter 'sparkles'"),
        (_base(filters={"mixed_language": {"max_share": 0.1}}), "unknown parameter(s) ['max_share']"),
        (_base(filters={"correct": {"scope": "everything"}}), "scope must be one of"),
        (_base(quotas={}), "quotas must name at least one group"),
        (_base(quotas={"a": {"count": -1, "domains": ["math"]}}), "non-negative integer"),
        (
            _base(quotas={"a": {"count": 1, "domains": ["math"]}, "b": {"count": 1, "domains": ["math"]}}),
            "domain 'math' is in both",
        ),
        (_base(dedup={"near": {"threshold": 1.5}}), "threshold must be in (0, 1]"),
        (_base(dedup={"near": {"num_perm": 64, "bands": 10}}), "multiple of bands"),
        (_base(decontamination={"ngram": 2}), "ngram must be >= 3"),
        (_base(output={"layout": "fancy"}), "layout must be one of"),
        (_base(per_prompt=0), "per_prompt must be >= 1"),
        (_base(general={"simple_think": "maybe"}), "simple_think must be drop or keep"),
    ],
)
def test_bad_recipes_are_rejected_with_the_reason(raw, message):
    with pytest.raises(ConfigError) as err:
        recipe_from_dict(raw, origin="bad.yaml")
    assert message in str(err.value)
    assert "bad.yaml" in str(err.value)


def test_missing_recipe_lists_the_known_ones(tmp_path):
    with pytest.raises(ConfigError, match="recipes here: .*tiny"):
        load_recipe("nope")
    bad = tmp_path / "x.yaml"
    bad.write_text("name: x\nfilters: [1, 2\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_recipe(bad)
