"""pseudonymise_frame: the pipeline's entry point."""

from __future__ import annotations

import logging

import pandas as pd

from anonymize import hmac_tokens, parse_policy, pseudonymise_frame


def test_member_frame_is_published_with_tokens_only(members, policy, keyring):
    out, report = pseudonymise_frame(members, entity="member", policy=policy, keyring=keyring)
    for f in ("id_number", "name", "mobile", "student_no", "staff_no"):
        assert f not in out.columns
        assert f"{f}_token" in out.columns
    assert "class_name" not in out.columns and report.suppressed == ["class_name"]
    assert out["source"].equals(members["source"])
    assert out["record_key"].equals(members["record_key"])
    assert out["birth_date"].str.fullmatch(r"\d{4}").all()
    assert out["applicant_on"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert report.unpoliced == [] and report.rows == len(members)
    # nulls stay null
    assert out["student_no_token"].isna().equals(members["student_no"].isna())
    raw = set(members["id_number"]) | set(members["mobile"]) | set(members["name"])
    text = [c for c in out.columns if c != "name_bloom"]
    assert not raw & {v for c in text for v in out[c].dropna().astype(str)}
    # the name is also published as a keyed encoding (policy ``also``), nulls staying null
    blooms = out["name_bloom"]
    assert blooms.notna().equals(members["name"].notna())
    assert {len(b) for b in blooms.dropna()} == {128}
    assert report.operators["name_bloom"] == "clk_bloom" and report.outputs["name_bloom"] == "name"
    raw_bytes = {v.encode() for v in raw}
    assert not any(r in b for b in blooms.dropna() for r in raw_bytes)


def test_only_vaulted_operators_reach_the_vault(members, policy, keyring, tmp_path):
    from anonymize import Vault

    with Vault(tmp_path / "vault.sqlite", keyring) as vault:
        _, report = pseudonymise_frame(
            members, entity="member", policy=policy, keyring=keyring, vault=vault
        )
    assert "name_token" in report.vaulted and "name_bloom" not in report.vaulted


def test_unpoliced_field_is_dropped_and_reported(members, keyring, caplog):
    policy = parse_policy({"defaults": {"id_number": {"operator": "hmac_token"}}})
    with caplog.at_level(logging.WARNING):
        out, report = pseudonymise_frame(
            members[["source", "record_key", "id_number", "name", "mobile"]].assign(extra="x"),
            entity="member",
            policy=policy,
            keyring=keyring,
        )
    assert list(out.columns) == ["source", "record_key", "id_number_token"]
    assert report.unpoliced == ["name", "mobile"]
    assert report.unknown_columns == ["extra"]
    assert "not published" in caplog.text and "name" in caplog.text


def test_person_numbers_share_a_token_across_tables(members, policy, keyring):
    roster, _ = pseudonymise_frame(members, entity="member", policy=policy, keyring=keyring)
    signin = pd.DataFrame(
        {
            "source": "signins",
            "record_key": "signins/B01.csv:2",
            "person_no": members["student_no"].fillna(members["staff_no"]),
            "meeting_date": pd.Timestamp("2026-05-01"),
        }
    )
    sheet, _ = pseudonymise_frame(signin, entity="attendance", policy=policy, keyring=keyring)
    expected = roster["student_no_token"].fillna(roster["staff_no_token"])
    assert sheet["person_no_token"].equals(expected.rename("person_no_token"))


def test_no_raw_value_in_logs(members, policy, keyring, caplog):
    with caplog.at_level(logging.DEBUG):
        pseudonymise_frame(members, entity="member", policy=policy, keyring=keyring)
    for value in members["id_number"].head(50):
        assert value not in caplog.text


def test_tokens_agree_with_hmac_tokens(members, policy, keyring):
    out, _ = pseudonymise_frame(members, entity="member", policy=policy, keyring=keyring)
    assert out["id_number_token"].equals(
        hmac_tokens(members["id_number"], keyring, "id_number").rename("id_number_token")
    )


def test_a_dates_precision_follows_it_and_a_year_never_becomes_a_month(keyring):
    from anonymize import parse_policy

    policy = parse_policy(
        {
            "entities": {
                "member": {
                    "fields": {
                        "applicant_on": {"operator": "generalise", "params": {"to": "month"}},
                        "activist_on": {"operator": "keep"},
                        "full_on": {"operator": "generalise", "params": {"to": "year"}},
                    }
                }
            }
        }
    )
    dates = pd.to_datetime(["2021-09-01", "2021-01-01", None])
    frame = pd.DataFrame(
        {
            "source": "s",
            "record_key": ["a", "b", "c"],
            "applicant_on": dates,
            "applicant_on_precision": pd.array(["month", "year", None], dtype="string"),
            "activist_on": dates,
            "activist_on_precision": pd.array(["month", "day", None], dtype="string"),
            "full_on": dates,
            "full_on_precision": pd.array(["day", "month", None], dtype="string"),
            # the companion of a field with no policy is not published either
            "candidate_on_precision": pd.array(["month", "day", None], dtype="string"),
        }
    )
    out, report = pseudonymise_frame(frame, "member", policy, keyring)
    assert out["applicant_on"].tolist()[:2] == ["2021-09", "2021"]  # not "2021-01"
    assert out["applicant_on_precision"].tolist()[:2] == ["month", "year"]
    assert out["activist_on_precision"].tolist()[:2] == ["month", "day"]
    assert out["full_on_precision"].tolist()[:2] == ["year", "year"]
    assert out[["applicant_on_precision", "full_on_precision"]].iloc[2].isna().all()
    assert "candidate_on_precision" not in out.columns and report.unknown_columns == []
