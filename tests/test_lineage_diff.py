"""`lineage diff A B`: the pure comparison core, the store-backed diff and the CLI on real trained models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lineage.cli import main
from lineage.entities import ModelInput, ModelVersionInfo
from lineage.models.lineage_diff import compare, diff_inputs, diff_metrics, diff_models, render_text
from lineage.store import Store
from tests import _trained_store

trained_home = _trained_store.trained_home  # the shared trained store (fixtures)
trained = _trained_store.trained

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
JSON_KEYS = {"from", "to", "data", "feature_set", "code", "params", "seed", "environment", "metrics", "artifact",
             "identical"}
CLEAN = ModelInput("customers_clean@v1.0", "train", "a" * 64, "processed")
FEATS_20 = ModelInput("customer_features_values@2.0.0-customers_clean-v1.0", "features", "b" * 64, "features")
FEATS_21 = ModelInput("customer_features_values@2.1.0-customers_clean-v1.0", "features", "c" * 64, "features")
ENV = {"python": "3.11.7", "implementation": "CPython", "platform": "Linux", "machine": "x86_64",
       "packages": {"numpy": "1.26.4", "pandas": "2.2.2"}, "seeds": {"PYTHONHASHSEED": None}}


def model(version: str = "1.2.0", **changes: Any) -> ModelVersionInfo:
    """A model version entity with everything a real one records (no store needed)."""
    values: dict[str, Any] = {
        "model": "churn", "version": version, "artifact": {"sha256": "d" * 64, "name": "m.pkl"},
        "inputs": [CLEAN, FEATS_21], "feature_set": "customer_features@2.1.0", "seed": 2010,
        "params": {"C": 1.0, "max_iter": 500}, "metrics": {"auc": 0.8, "rows": 100},
        "code": {"git_commit": "1" * 40, "git_dirty": False, "entrypoint": "python train.py", "workdir": "/repo"},
        "environment": ENV, "run_id": "r", "note": "", "created_at": datetime(2026, 3, 1, tzinfo=UTC),
        "created_by": "tester",
    }
    values.update(changes)
    return ModelVersionInfo(**values)


# -- pure core ---------------------------------------------------------------------------------
def test_a_model_compared_with_itself_is_identical_and_every_key_is_present() -> None:
    result = compare(model(), model())
    document = result.to_json()
    assert set(document) == JSON_KEYS
    assert document["identical"] is True and result.changed_sections == []
    assert render_text(result)[-1].startswith("identical:")


def test_changed_input_bytes_are_reported_by_role_with_both_refs_and_hashes() -> None:
    data = diff_inputs([CLEAN, FEATS_20], [CLEAN, FEATS_21])
    assert data["added"] == [] and data["removed"] == []
    [change] = data["changed"]
    assert change["role"] == "features" and change["same_bytes"] is False
    assert change["from"] == {"ref": FEATS_20.ref, "sha256": "b" * 64, "stage": "features"}
    assert change["to"] == {"ref": FEATS_21.ref, "sha256": "c" * 64, "stage": "features"}


def test_inputs_added_and_removed_by_role() -> None:
    validation = ModelInput("holdout@v1", "validation", "e" * 64, "processed")
    data = diff_inputs([CLEAN, validation], [CLEAN, FEATS_21])
    assert data["removed"] == [{"role": "validation", "ref": "holdout@v1", "sha256": "e" * 64, "stage": "processed"}]
    assert data["added"] == [{"role": "features", "ref": FEATS_21.ref, "sha256": "c" * 64, "stage": "features"}]
    assert data["changed"] == []


def test_same_bytes_under_another_name_is_a_change_marked_same_bytes() -> None:
    renamed = ModelInput("customers_clean@v1.0-copy", "train", CLEAN.sha256, "processed")
    [change] = diff_inputs([CLEAN], [renamed])["changed"]
    assert change["same_bytes"] is True


def test_feature_set_versions_of_one_set_carry_the_schema_diff_from_the_provider() -> None:
    calls = []

    def provider(name: str, old: str, new: str) -> dict[str, Any]:
        calls.append((name, old, new))
        return {"from": old, "to": new, "required_bump": "minor",
                "changes": [{"feature": "avg_purchase_value", "kind": "added", "class": "minor", "detail": "added",
                             "code_diff": ""}]}

    result = compare(model(feature_set="customer_features@2.0.0"), model(), schema_diff=provider)
    section = result.feature_set
    assert calls == [("customer_features", "2.0.0", "2.1.0")]
    assert section["changed"] and section["same_set"] and section["schema_diff"]["changes"][0]["feature"] == "avg_purchase_value"
    assert "added avg_purchase_value [minor]: added" in "\n".join(render_text(result))


def test_different_feature_sets_are_named_not_diffed() -> None:
    result = compare(model(feature_set="customer_features@2.1.0"), model(feature_set="risk_features@1.0.0"),
                     schema_diff=lambda *_: pytest.fail("schemas of different sets must not be compared"))
    assert result.feature_set["same_set"] is False and result.feature_set["schema_diff"] is None
    assert "different feature sets (customer_features and risk_features)" in result.feature_set["note"]


def test_code_params_seed_and_environment_differences() -> None:
    env = {**ENV, "python": "3.12.1", "packages": {"numpy": "2.0.0", "scikit-learn": "1.5.0"}}
    other = model(code={"git_commit": "2" * 40, "git_dirty": True, "entrypoint": "python train.py", "workdir": "/repo"},
                  params={"C": 0.5, "penalty": "l2"}, seed=2011, environment=env)
    result = compare(model(), other)
    assert result.code["fields"] == {"git_commit": {"from": "1" * 40, "to": "2" * 40},
                                     "git_dirty": {"from": False, "to": True}}
    assert result.code["unverified"] is True
    assert result.params == {"added": {"penalty": "l2"}, "removed": {"max_iter": 500},
                             "changed": {"C": {"from": 1.0, "to": 0.5}}}
    assert result.seed["from"] == 2010 and result.seed["to"] == 2011 and result.seed["changed"]
    assert result.environment["fields"] == {"python": {"from": "3.11.7", "to": "3.12.1"}}
    assert result.environment["added"] == {"scikit-learn": "1.5.0"} and result.environment["removed"] == {"pandas": "2.2.2"}
    assert result.environment["changed"] == {"numpy": {"from": "1.26.4", "to": "2.0.0"}}
    text = "\n".join(render_text(result))
    assert "seed: 2010 -> 2011" in text and "numpy: 1.26.4 -> 2.0.0" in text and "python: 3.11.7 -> 3.12.1" in text


def test_metric_deltas_cover_every_metric_of_either_side() -> None:
    metrics = diff_metrics({"auc": 0.56387, "rows": 100, "note": "x"}, {"auc": 0.568626, "rows": 100, "f1": 0.5})
    assert metrics["auc"] == {"from": 0.56387, "to": 0.568626, "delta": 0.004756, "changed": True}
    assert metrics["rows"] == {"from": 100, "to": 100, "delta": 0, "changed": False}
    assert metrics["f1"] == {"from": None, "to": 0.5, "delta": None, "changed": True}
    assert metrics["note"]["delta"] is None and metrics["note"]["changed"] is True


def test_text_shows_only_what_differs_and_names_the_rest_unchanged() -> None:
    lines = render_text(compare(model(), model(metrics={"auc": 0.9, "rows": 100})))
    assert lines[0] == "churn@1.2.0 -> churn@1.2.0"
    assert "metrics" in lines and "  auc: 0.8 -> 0.9 (+0.1)" in lines
    assert not any(line.startswith(("data", "params", "seed")) for line in lines)
    assert lines[-1].startswith("unchanged: data, feature set, code")


# -- store and CLI -----------------------------------------------------------------------------
def test_diff_models_resolves_refs_and_asks_the_feature_service_for_the_schema_diff(store: Store, tmp_path: Path) -> None:
    store.snapshots.add(SAMPLE / "customers_clean_v1.0.parquet", dataset="customers_clean", version="v1.0",
                        stage="processed")
    for schema, module in (("customer_features_2.0.0.json", "sample_data.features.customer_features_2_0"),
                           ("customer_features_2.1.0.json", "sample_data.features.customer_features_2_1")):
        store.features.register(SAMPLE / "schemas" / schema, module)
    for version, fs, seed in (("1.1.0", "2.0.0", 2010), ("1.2.0", "2.1.0", 2010)):
        artifact = tmp_path / f"{version}.bin"
        artifact.write_bytes(version.encode())
        store.models.register(f"churn@{version}", artifact=artifact, inputs=["customers_clean@v1.0:train"],
                              feature_set=f"customer_features@{fs}", seed=seed, metrics={"auc": float(version[2])},
                              code={"git_commit": "abc", "git_dirty": False, "entrypoint": "python t.py", "workdir": "/x"})
    result = diff_models(store, "churn@1.1.0", "churn")  # a bare name is the highest version
    assert result.to_ref == "churn@1.2.0"
    assert [c["feature"] for c in result.feature_set["schema_diff"]["changes"]] == ["avg_purchase_value"]
    assert result.data == {"added": [], "removed": [], "changed": []}
    assert result.metrics["auc"]["delta"] == 1.0


def test_cli_diff_of_the_trained_demo_models(trained: Store) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["diff", "churn@1.1.0", "churn@1.2.0", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert set(document) == JSON_KEYS and document["identical"] is False
    assert (document["feature_set"]["from"], document["feature_set"]["to"]) == (
        "customer_features@2.0.0", "customer_features@2.1.0")
    changes = document["feature_set"]["schema_diff"]["changes"]
    assert [(c["feature"], c["kind"]) for c in changes] == [("avg_purchase_value", "added")]
    [data] = document["data"]["changed"]
    assert data["role"] == "features"
    assert data["from"]["ref"] == "customer_features_values@2.0.0-customers_clean-v1.0"
    assert data["to"]["ref"] == "customer_features_values@2.1.0-customers_clean-v1.0"
    assert data["from"]["sha256"] != data["to"]["sha256"]
    assert (document["seed"]["from"], document["seed"]["to"], document["seed"]["changed"]) == (2010, 2010, False)
    assert document["seed"]["pythonhashseed"]["from"] == document["seed"]["pythonhashseed"]["to"]
    a, b = trained.models.get("churn@1.1.0"), trained.models.get("churn@1.2.0")
    for name, metric in document["metrics"].items():
        assert metric["from"] == a.metrics[name] and metric["to"] == b.metrics[name]
        assert metric["delta"] == pytest.approx(b.metrics[name] - a.metrics[name])
    assert document["environment"] == {"fields": {}, "added": {}, "removed": {}, "changed": {}}

    text = runner.invoke(main, ["diff", "churn@1.1.0", "churn@1.2.0"])
    assert text.exit_code == 0
    assert "customer_features@2.0.0 -> customer_features@2.1.0" in text.output
    assert "added avg_purchase_value [minor]" in text.output
    assert "features: +avg_purchase_value" in text.output  # the params' feature list
    assert text.output.rstrip().splitlines()[-1].startswith("unchanged:") and "seed" in text.output.splitlines()[-1]


def test_cli_diff_of_an_unknown_model_is_one_line_and_exit_2(trained: Store) -> None:
    result = CliRunner().invoke(main, ["diff", "churn@1.1.0", "churn@8.0.0"])
    assert result.exit_code == 2
    assert "churn has no version or alias '8.0.0'" in result.output and "Traceback" not in result.output
