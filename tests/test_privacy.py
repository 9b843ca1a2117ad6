"""Privacy: pseudonymisation, generalisation, k-anonymity, l-diversity, personal data, audit."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientprotection import privacy as pv

KEY = "a-course-secret-key"


# --- pseudonymisation --------------------------------------------------------------------------


def test_pseudonym_is_truncated_hmac_sha256():
    # independent recomputation with the standard library
    expected = hmac.new(KEY.encode(), b"C000123", hashlib.sha256).hexdigest()[:16]
    assert pv.pseudonymise(pd.Series(["C000123"]), KEY).iloc[0] == expected
    # a plain (unkeyed) hash is what an attacker could recompute from a guessed ID
    assert expected != hashlib.sha256(b"C000123").hexdigest()[:16]


def test_pseudonymise_keeps_missing_values_and_index():
    values = pd.Series(["C1", None, "C1"], index=[10, 11, 12], name="client_id")
    out = pv.pseudonymise(values, KEY, length=10, prefix="P")
    assert out.index.tolist() == [10, 11, 12]
    assert out.iloc[0] == out.iloc[2] and out.iloc[0].startswith("P") and len(out.iloc[0]) == 11
    assert pd.isna(out.iloc[1])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=200, unique=True),
       st.text(min_size=8, max_size=30), st.text(min_size=8, max_size=30))
def test_pseudonyms_stable_per_key_distinct_across_keys_no_collisions(ids, key1, key2):
    values = pd.Series(ids)
    first = pv.pseudonymise(values, key1)
    assert first.equals(pv.pseudonymise(values, key1))       # stable with the same key
    assert first.nunique() == len(ids)                         # no collisions on the sample
    if key1 != key2:
        other = pv.pseudonymise(values, key2)
        assert (first != other).all()                          # another key, other pseudonyms


def test_pseudonymise_columns_joins_still_work():
    loans = pd.DataFrame({"client_id": ["C1", "C2", "C1"], "amount": [1, 2, 3]})
    clients = pd.DataFrame({"client_id": ["C1", "C2"], "gender": ["f", "m"]})
    merged = pv.pseudonymise_columns(loans, "client_id", KEY).merge(
        pv.pseudonymise_columns(clients, "client_id", KEY), on="client_id")
    assert merged.sort_values("amount")["gender"].tolist() == ["f", "m", "f"]


# --- generalisation ----------------------------------------------------------------------------


def test_age_band_counts_birthdays():
    births = pd.Series(pd.to_datetime(["2000-03-15", "2000-03-16", "1955-01-01", None]))
    bands = pv.age_band(births, "2030-03-15")
    # 30 on 15 March 2030; 29 if born a day later; 75 -> 70+
    assert bands.iloc[:3].tolist() == ["30-39", "20-29", "70+"]
    assert pd.isna(bands.iloc[3])
    assert pv.age_band(births.iloc[:1], "2030-03-15", width=5).tolist() == ["30-34"]


def test_income_band_and_truncate_and_coarsen():
    assert pv.income_band(pd.Series([0, 999.5, 1000, 4999]), [1000, 5000]).tolist() == [
        "<1000", "<1000", "1000-4999", "1000-4999"]
    assert pv.truncate(pd.Series(["255712345678", None]), keep_start=4).iloc[0] == "2557" + "*" * 8
    assert pv.truncate(pd.Series(["ID12"]), keep_end=2).iloc[0] == "**12"
    villages = pd.Series(["V1", "V2", "V3"])
    assert pv.coarsen(villages, {"V1": "North", "V2": "North"}, other="other").tolist() == [
        "North", "North", "other"]
    with pytest.raises(ValueError, match="V3"):
        pv.coarsen(villages, {"V1": "North", "V2": "North"})


# --- k-anonymity and l-diversity ----------------------------------------------------------------


def sweeney_table() -> pd.DataFrame:
    # Sweeney, "k-anonymity: a model for protecting privacy", Int. J. Uncertainty, Fuzziness
    # and Knowledge-Based Systems 10(5), 2002, Figure 2: a table that is 2-anonymous over the
    # quasi-identifier {Race, Birth, Gender, ZIP}.
    rows = [
        ("black", 1965, "m", "0214*", "short breath"),
        ("black", 1965, "m", "0214*", "chest pain"),
        ("black", 1965, "f", "0213*", "hypertension"),
        ("black", 1965, "f", "0213*", "hypertension"),
        ("black", 1964, "f", "0213*", "obesity"),
        ("black", 1964, "f", "0213*", "chest pain"),
        ("white", 1964, "m", "0213*", "chest pain"),
        ("white", 1964, "m", "0213*", "obesity"),
        ("white", 1964, "m", "0213*", "short breath"),
        ("white", 1967, "m", "0213*", "chest pain"),
        ("white", 1967, "m", "0213*", "chest pain"),
    ]
    return pd.DataFrame(rows, columns=["race", "birth", "gender", "zip", "problem"])


QI = ["race", "birth", "gender", "zip"]


def test_sweeney_figure_is_2_anonymous_but_not_2_diverse():
    table = sweeney_table()
    assert pv.k_anonymity(table, QI) == 2
    assert not pv.rows_at_risk(table, QI, 2).any()
    # 5 classes of sizes 2, 2, 2, 3, 2 -> 3 rows share (white, 1964, m, 0213*)
    sizes = pv.equivalence_classes(table, QI)["size"]
    assert sorted(sizes.tolist()) == [2, 2, 2, 2, 3]
    assert pv.rows_at_risk(table, QI, 3).sum() == 8
    # homogeneity: both (black, 1965, f) records have hypertension -> distinct l = 1
    # (Machanavajjhala et al., "l-diversity", ACM TKDD 2007, the homogeneity attack)
    assert pv.l_diversity(table, QI, "problem") == 1
    # dropping gender and zip: classes (black,1965) 4 rows with 3 problems, (black,1964) 2
    # with 2, (white,1964) 3 with 3, (white,1967) 2 with 1 -> l = 1, k = 2
    assert pv.k_anonymity(table, ["race", "birth"]) == 2
    assert pv.l_diversity(table, ["race", "birth"], "problem") == 1
    # by race only: black has 4 distinct problems, white 3 (chest pain, obesity, short breath)
    assert pv.l_diversity(table, ["race"], "problem") == 3


def test_suppression_reaches_k():
    table = sweeney_table()
    kept = pv.suppress_to_k(table, QI, 3)
    assert len(kept) == 3 and pv.k_anonymity(kept, QI) == 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(18, 90), st.sampled_from("ABCDE")), min_size=1,
                max_size=80), st.integers(1, 6))
def test_generalise_then_suppress_reaches_k(rows, k):
    people = pd.DataFrame(rows, columns=["age", "village"])
    births = pd.Series(pd.to_datetime([f"{2000 - a}-01-01" for a in people["age"]]))
    fine = people.assign(age_band=pv.age_band(births, "2000-06-30", width=10, top=None))
    coarse = people.assign(age_band=pv.age_band(births, "2000-06-30", width=20, top=None))
    qi = ["age_band", "village"]
    # wider (nested) bands never make the smallest class smaller
    assert pv.k_anonymity(coarse, qi) >= pv.k_anonymity(fine, qi)
    kept = pv.suppress_to_k(coarse, qi, k)
    assert kept.empty or pv.k_anonymity(kept, qi) >= k
    # only rows in classes smaller than k were removed
    assert len(kept) == len(coarse) - int(pv.rows_at_risk(coarse, qi, k).sum())


# --- personal data -------------------------------------------------------------------------------


def test_personal_columns_from_schema_flags():
    from clientprotection.schema import TABLES

    columns = TABLES["clients"].column_names
    frame = pd.DataFrame({c: ["x"] for c in columns})
    found = pv.personal_columns(frame, "clients")
    schema_flags = [f.name for f in TABLES["clients"].fields if f.personal]
    assert set(schema_flags) <= set(found["column"])
    assert set(found.loc[found["reason"] == "schema", "column"]) == set(schema_flags)
    assert "client_id" not in set(found["column"])


def test_personal_columns_by_name_and_by_values():
    frame = pd.DataFrame({
        "Full_Name": ["Ana"], "NID": ["123"], "dob": ["1990-01-01"], "contact": ["a@b.org"],
        "msisdn": ["255712345678"], "notes": ["+255 712 345 678"], "loan_amount": [100.0],
        "home_address": ["Plot 4"],
    })
    found = pv.personal_columns(frame).set_index("column")
    assert found.loc["Full_Name", "kind"] == "name"
    assert found.loc["NID", "kind"] == "national ID"
    assert found.loc["dob", "kind"] == "birth date"
    assert found.loc["msisdn", "kind"] == "phone"
    assert found.loc["home_address", "kind"] == "address"
    assert found.loc["contact", "reason"] == "values"
    assert found.loc["notes", "kind"] == "phone"
    assert "loan_amount" not in found.index


# --- access-log audit ----------------------------------------------------------------------------


def audit_inputs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    log = pd.DataFrame({
        "event_id": ["E1", "E2", "E3", "E4", "E5"],
        "officer_id": ["O1", "O1", "O2", "H1", "O2"],
        "client_id": ["C1", "C2", "C1", "C2", "C1"],
        "action": ["view", "view", "export", "view", "edit"],
        "purpose": ["loan_appraisal", "collection", "reporting", "audit", None],
        # Mon 10:00; Mon 07:30; Tue 12:00; Sun 11:00; Wed 18:00
        "accessed_at": pd.to_datetime(["2024-03-04 10:00", "2024-03-04 07:30",
                                       "2024-03-05 12:00", "2024-03-10 11:00",
                                       "2024-03-06 18:00"]),
    })
    officers = pd.DataFrame({"officer_id": ["O1", "O2", "H1"], "branch_id": ["B1", "B2", None],
                             "role": ["loan_officer", "loan_officer", "head_office"]})
    clients = pd.DataFrame({"client_id": ["C1", "C2"], "branch_id": ["B1", "B1"]})
    return log, officers, clients


def test_access_log_audit_flags_by_hand():
    audit = pv.audit_access_log(*audit_inputs())
    # outside 08:00-18:00 Mon-Sat: E2 (07:30), E4 (Sunday), E5 (18:00 is closing time)
    assert audit["outside_hours"].tolist() == [False, True, False, True, True]
    # O2 works at B2, C1 belongs to B1: E3, E5; H1 is head office (exempt)
    assert audit["other_branch"].tolist() == [False, False, True, False, True]
    assert audit["export"].tolist() == [False, False, True, False, False]
    assert audit["missing_purpose"].tolist() == [False, False, False, False, True]
    assert audit["flagged"].tolist() == [False, True, True, True, True]
    summary = pv.access_summary(audit)
    assert summary.loc["O2", "events"] == 2 and summary.loc["O2", "other_branch"] == 2
    assert summary.loc["O1", "share_flagged"] == 0.5
    assert summary.index[0] == "O2"   # most flagged first


def test_access_log_working_hours_are_parameters():
    audit = pv.audit_access_log(*audit_inputs(), work_start=7, work_end=19,
                                weekmask="Mon Tue Wed Thu Fri Sat Sun")
    assert audit["outside_hours"].sum() == 0


# --- errors -------------------------------------------------------------------------------------


def test_errors_are_clear():
    with pytest.raises(ValueError, match="too short"):
        pv.pseudonymise(["C1"], "short")
    with pytest.raises(TypeError, match="str or bytes"):
        pv.pseudonymise(["C1"], 12345678)
    with pytest.raises(ValueError, match="no column.*'zipcode'"):
        pv.k_anonymity(sweeney_table(), ["zipcode"])
    with pytest.raises(ValueError, match="empty"):
        pv.k_anonymity(sweeney_table().iloc[0:0], QI)
    with pytest.raises(ValueError, match="at least one"):
        pv.k_anonymity(sweeney_table(), [])
    with pytest.raises(ValueError, match="k must be"):
        pv.rows_at_risk(sweeney_table(), QI, 0)
    log, officers, clients = audit_inputs()
    with pytest.raises(ValueError, match="'purpose'"):
        pv.audit_access_log(log.drop(columns="purpose"), officers, clients)
    with pytest.raises(ValueError, match="Working hours"):
        pv.audit_access_log(log, officers, clients, work_start=18, work_end=8)
    with pytest.raises(ValueError, match="Unknown table"):
        pv.personal_columns(sweeney_table(), "patients")


# --- smoke tests on the default scenario ---------------------------------------------------------


def test_default_scenario_privacy(mfi):
    clients = mfi["clients"]
    found = set(pv.personal_columns(clients, "clients")["column"])
    assert {"name", "national_id", "phone", "address", "birth_date"} <= found
    pseudonyms = pv.pseudonymise(clients["client_id"], KEY)
    assert pseudonyms.nunique() == clients["client_id"].nunique()
    shared = clients.assign(age=pv.age_band(clients["birth_date"], "2025-01-01"))
    qi = ["age", "gender", "village"]
    assert pv.k_anonymity(pv.suppress_to_k(shared, qi, 5), qi) >= 5
    audit = pv.audit_access_log(mfi["access_log"], mfi["officers"], clients)
    assert audit["flagged"].dtype == bool and len(audit) == len(mfi["access_log"])
    assert pv.access_summary(audit)["events"].sum() == len(audit)
