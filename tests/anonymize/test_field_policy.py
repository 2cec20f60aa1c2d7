"""The field policy: validated on load, naming the field; default deny."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from anonymize import PolicyError, load_policy, parse_policy
from domain import ENTITIES


def _policy(doc: dict):
    return parse_policy(doc, source="test")


def test_demo_policy_covers_every_canonical_field(policy):
    for name in ENTITIES:
        assert policy.unpoliced(name) == [], name


def test_demo_policy_gives_person_numbers_one_domain(policy):
    domains = {
        f: policy.field_policy("attendance", f).params.get("domain")
        for f in ("student_no", "staff_no", "person_no")
    }
    assert set(domains.values()) == {"person_no"}


def test_typo_in_field_name_fails_on_load_naming_it(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text(
        yaml.safe_dump({"entities": {"member": {"fields": {"brith_date": {"operator": "keep"}}}}})
    )
    with pytest.raises(PolicyError, match="brith_date"):
        load_policy(path)


def test_unknown_operator_fails_on_load_listing_known_ones():
    with pytest.raises(PolicyError, match=r"hmac_tokn.*known operators: .*hmac_token"):
        _policy({"defaults": {"id_number": {"operator": "hmac_tokn"}}})


def test_bad_operator_parameter_fails_on_load():
    with pytest.raises(PolicyError, match=r"member\.fields\.birth_date.*to"):
        _policy(
            {
                "entities": {
                    "member": {
                        "fields": {
                            "birth_date": {"operator": "generalise", "params": {"to": "decade"}}
                        }
                    }
                }
            }
        )


def test_unknown_entity_and_unknown_key_fail_on_load():
    with pytest.raises(PolicyError, match="membr"):
        _policy({"entities": {"membr": {}}})
    with pytest.raises(PolicyError, match="operater"):
        _policy({"defaults": {"id_number": {"operater": "hmac_token"}}})


def test_refuses_keep_on_a_direct_identifier():
    with pytest.raises(PolicyError, match=r"keep is not allowed on a direct_identifier"):
        _policy({"defaults": {"id_number": {"operator": "keep"}}})


def test_refuses_a_laxer_kind_than_canonical():
    with pytest.raises(PolicyError, match="never laxer"):
        _policy({"defaults": {"mobile": {"kind": "plain", "operator": "keep"}}})


def test_allows_a_stricter_kind():
    policy = _policy(
        {
            "entities": {
                "member": {
                    "fields": {"branch_id": {"kind": "quasi_identifier", "operator": "keep"}}
                }
            }
        }
    )
    assert policy.kind_of("member", "branch_id") == "quasi_identifier"


def test_gate_quasi_identifiers_must_be_quasi_identifiers():
    with pytest.raises(PolicyError, match="status is not a quasi-identifier"):
        _policy({"entities": {"member": {"gate": {"quasi_identifiers": ["status"]}}}})
    with pytest.raises(PolicyError, match="ladder needs a quasi-identifier"):
        _policy(
            {
                "entities": {
                    "member": {
                        "gate": {"quasi_identifiers": ["gender"], "ladders": {"college": []}}
                    }
                }
            }
        )


def test_unpoliced_fields_are_listed():
    policy = _policy({"defaults": {"id_number": {"operator": "hmac_token"}}})
    assert "name" in policy.unpoliced("member")
    assert "id_number" not in policy.unpoliced("member")


def test_unreadable_policy_file(tmp_path):
    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("entities: [unclosed")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad)
    # the parser's text would quote the file: the message names the place only
    quoted = tmp_path / "quoted.yaml"
    quoted.write_text("defaults:\n  name: {operator: hmac_token\n  planted: 'Zz-private-9'\n")
    with pytest.raises(PolicyError, match=r"not valid YAML at line \d+, column \d+") as caught:
        load_policy(quoted)
    assert "Zz-private-9" not in str(caught.value)


def test_also_publishes_more_columns_of_one_field_but_never_the_same_twice():
    ok = _policy(
        {"defaults": {"name": {"operator": "hmac_token", "also": [{"operator": "clk_bloom"}]}}}
    )
    ops = ok.field_policy("member", "name").operators()
    assert [o.name for o in ops] == ["hmac_token", "clk_bloom"]
    with pytest.raises(PolicyError, match="two operators publish name_token"):
        _policy(
            {"defaults": {"name": {"operator": "hmac_token", "also": [{"operator": "hmac_token"}]}}}
        )


def test_also_operator_must_be_allowed_on_the_fields_kind():
    with pytest.raises(PolicyError, match="operator keep is not allowed"):
        _policy({"defaults": {"name": {"operator": "hmac_token", "also": [{"operator": "keep"}]}}})
