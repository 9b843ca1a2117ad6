"""Writing, loading, validating and exporting datasets (clientprotection.data, cpcourse data)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from clientprotection import data
from clientprotection.cli import main as cpcourse
from clientprotection.errors import DatasetError
from clientprotection.schema import TABLES

REPO = Path(__file__).resolve().parents[1]
SMALL = 400  # clients: enough for every table to have rows, fast to build


@pytest.fixture(scope="module")
def small_mfi():
    from clientprotection import synth

    return synth.generate(synth.load_scenario("default"), seed=7, n_clients=SMALL)


@pytest.fixture(scope="module")
def small_dir(small_mfi, tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "small"
    data.write_dataset(small_mfi, out)
    return out


def test_written_dataset_is_valid_and_complete(small_dir):
    assert data.validate_dataset(small_dir) == []
    names = sorted(p.name for p in small_dir.iterdir())
    expected = sorted([t.filename for t in TABLES.values()]
                      + ["datapackage.json", "README.md", "answer_key.json"])
    assert names == expected
    package = json.loads((small_dir / "datapackage.json").read_text())
    for resource in package["resources"]:
        table = TABLES[resource["name"]]
        assert [f["name"] for f in resource["schema"]["fields"]] == table.column_names
        assert all(f["description"] for f in resource["schema"]["fields"])
        assert resource["hash"].startswith("sha256:") and len(resource["hash"]) == 7 + 64


def test_gzip_files_are_reproducible_bytes(small_mfi, tmp_path):
    a = data.write_dataset(small_mfi, tmp_path / "a")
    b = data.write_dataset(small_mfi, tmp_path / "b")
    for table in TABLES.values():
        assert (a / table.filename).read_bytes() == (b / table.filename).read_bytes()
    # the gzip header carries no timestamp or file name that would change between runs
    schedule = (a / TABLES["schedule"].filename).read_bytes()
    assert schedule[4:8] == b"\x00\x00\x00\x00"
    assert gzip.decompress(schedule).startswith(b"loan_id,instalment_no,")


def test_load_round_trips_values_and_types(small_mfi, small_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CPCOURSE_CACHE", str(tmp_path / "cache"))
    mfi = data.load_mfi(small_dir)
    assert list(mfi) == list(TABLES)
    for name, table in TABLES.items():
        loaded, generated = mfi[name], small_mfi.tables[name]
        assert list(loaded.columns) == table.column_names
        assert len(loaded) == len(generated)
        for f in table.fields:
            column = loaded[f.name]
            if f.type in ("date", "datetime"):
                assert pd.api.types.is_datetime64_any_dtype(column), (name, f.name)
            elif f.type == "boolean":
                assert column.dtype == bool, (name, f.name)
            elif f.categorical:
                assert isinstance(column.dtype, pd.CategoricalDtype), (name, f.name)
            elif f.type == "number":
                assert column.dtype == "float64", (name, f.name)
        # values survive the trip (money was rounded to the cent by the generator)
        for f in table.fields:
            left = loaded[f.name].reset_index(drop=True)
            right = generated[f.name].reset_index(drop=True)
            if f.type == "number":
                pd.testing.assert_series_equal(left, right.astype(float), check_names=False,
                                               rtol=0, atol=1e-9)
            elif f.type in ("date", "datetime"):
                assert (pd.to_datetime(right).astype("datetime64[s]")
                        .equals(left.astype("datetime64[s]"))), (name, f.name)
            else:
                assert left.astype(object).where(left.notna(), None).tolist() == \
                    right.astype(object).where(right.notna(), None).tolist(), (name, f.name)
    assert mfi.loans is mfi["loans"]
    with pytest.raises(AttributeError, match="no table 'loan'"):
        _ = mfi.loan
    # the second load comes from the cache and gives equal tables
    again = data.load_mfi(small_dir)
    assert list((tmp_path / "cache" / "clientprotection").glob("*.pickle"))
    pd.testing.assert_frame_equal(again.schedule, mfi.schedule)


def test_load_from_any_working_directory(tmp_path):
    script = ("from clientprotection import load_mfi; m = load_mfi(); "
              "print(len(m['loans']) > 0, m.currency != '')")
    env = {**os.environ, "CPCOURSE_CACHE": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "True"]


def test_unknown_scenario_lists_the_available_ones():
    with pytest.raises(DatasetError, match="available: .*default"):
        data.load_mfi("no-such-scenario")


def test_existing_folder_is_refused_without_force(small_mfi, tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="--force"):
        data.write_dataset(small_mfi, out)
    assert (out / "notes.txt").read_text() == "mine"
    data.write_dataset(small_mfi, out, force=True)
    assert data.validate_dataset(out) == []


def test_failed_write_leaves_nothing_behind(small_mfi, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = data._format_table

    def fail_on_fifth(frame, table):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk full")
        return real(frame, table)

    monkeypatch.setattr(data, "_format_table", fail_on_fifth)
    with pytest.raises(OSError, match="disk full"):
        data.write_dataset(small_mfi, tmp_path / "ds")
    assert list(tmp_path.iterdir()) == []

    # a failure while replacing keeps the old dataset whole
    monkeypatch.setattr(data, "_format_table", real)
    out = data.write_dataset(small_mfi, tmp_path / "ds")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls["n"] = 0
    monkeypatch.setattr(data, "_format_table", fail_on_fifth)
    with pytest.raises(OSError):
        data.write_dataset(small_mfi, out, force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_validate_reports_tampering(small_dir, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(small_dir, broken)
    loans = pd.read_csv(broken / "loans.csv", dtype=str, keep_default_na=False)
    loans.loc[0, "client_id"] = "C9999999"
    loans.to_csv(broken / "loans.csv", index=False, lineterminator="\n")
    (broken / "complaints.csv").unlink()
    problems = data.validate_dataset(broken)
    text = "\n".join(problems)
    assert "loans.csv: sha256 differs" in text
    assert "loans.client_id: 1 values not found in clients.client_id" in text
    assert "complaints.csv is missing" in text
    assert cpcourse(["data", "validate", str(broken)]) == 1
    assert cpcourse(["data", "validate", str(small_dir)]) == 0


def test_cli_generate_refuses_existing_folder(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert cpcourse(["data", "generate", "--out", str(out), "--clients", "50", "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "keep.txt").exists()


def test_cli_generate_rejects_a_bad_scenario_file(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text((REPO / "datasets/scenarios/default.toml").read_text() + "\nnot_a_key = 1\n")
    status = cpcourse(["data", "generate", "--scenario", str(bad), "--out",
                       str(tmp_path / "o"), "--quiet"])
    assert status == 2
    assert "not_a_key" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_export_xlsx(small_dir, tmp_path):
    from openpyxl import load_workbook

    target = tmp_path / "mfi.xlsx"
    assert cpcourse(["data", "export", str(small_dir), "--xlsx", str(target),
                     "--tables", "branches", "loans"]) == 0
    book = load_workbook(target, read_only=True)
    assert book.sheetnames == ["about", "branches", "loans"]
    loans = pd.read_csv(small_dir / "loans.csv")
    assert book["loans"].max_row == len(loans) + 1
    assert cpcourse(["data", "export", str(small_dir), "--xlsx", str(target)]) == 2  # no --force
    with pytest.raises(DatasetError, match="unknown tables"):
        data.export_xlsx(small_dir, tmp_path / "x.xlsx", ["loanz"])


@pytest.mark.parametrize("scenario", ["default", "crisis"])
def test_committed_dataset_equals_a_rebuild(scenario, tmp_path):
    committed = REPO / "datasets" / scenario
    assert committed.is_dir(), f"datasets/{scenario} is not committed"
    out = tmp_path / scenario
    status = cpcourse(["data", "generate", "--scenario", scenario, "--out", str(out), "--quiet"])
    assert status == 0
    for path in sorted(committed.iterdir()):
        rebuilt = out / path.name
        assert rebuilt.exists(), path.name
        assert rebuilt.read_bytes() == path.read_bytes(), f"{scenario}/{path.name} differs"
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in committed.iterdir())


def test_committed_datasets_are_small():
    total = sum(p.stat().st_size for p in (REPO / "datasets").rglob("*") if p.is_file())
    assert total < 20 * 1024 * 1024, f"datasets/ holds {total / 2**20:.1f} MiB (limit 20)"
