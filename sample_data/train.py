"""Train the demo churn model on materialised customer features, through a tracked run.

    python sample_data/train.py --version 1.2.0 --feature-set customer_features@2.1.0

Deterministic (seed 2010, single-threaded scikit-learn, sorted inputs), so
``lineage reproduce churn@1.2.0 --rerun`` rebuilds the artifact bit for bit. The
store is the one LINEAGE_HOME names; inputs are read from the store's own bytes.
Every random choice uses ``run.seed`` (2010, or the recorded seed under reproduce).
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

RANDOM_STATE = 2010
LABELS = "customers_clean@v1.0"


def features_snapshot(feature_ref: str) -> str:
    """The materialisation of this feature-set version on the labelled snapshot."""
    from lineage.features.materialize import default_dataset

    name, _, version = feature_ref.partition("@")
    dataset, labels_version = LABELS.split("@")
    return f"{default_dataset(name)}@{version}-{dataset}-{labels_version}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", required=True, help="model version to register, e.g. 1.2.0")
    parser.add_argument("--feature-set", required=True, help="feature-set version, e.g. customer_features@2.1.0")
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    from lineage.store import Store

    store = Store.open()
    with store.runs.track(model="churn", version=args.version, seed=RANDOM_STATE) as run:
        labels = pd.read_parquet(run.input(LABELS, role="train"), columns=["customer_id", "churned"])
        features = pd.read_parquet(run.input(features_snapshot(args.feature_set), role="features"))
        run.use_feature_set(args.feature_set)
        frame = features.merge(labels, on="customer_id", how="inner").sort_values("customer_id", kind="stable")
        columns = [c for c in frame.columns if c not in ("customer_id", "reference_date", "churned")]
        design = pd.get_dummies(frame[columns], columns=[c for c in columns if str(frame[c].dtype) == "category"],
                                dtype="float64").fillna(0.0)
        design = design.reindex(sorted(design.columns), axis=1)
        x_train, x_test, y_train, y_test = train_test_split(
            design.to_numpy(), frame["churned"].to_numpy(), test_size=0.25, random_state=run.seed,
            stratify=frame["churned"].to_numpy())
        params = {"C": 1.0, "max_iter": 500, "solver": "lbfgs", "test_size": 0.25}
        model = LogisticRegression(C=params["C"], max_iter=params["max_iter"], solver="lbfgs",
                                   random_state=run.seed)
        mean, scale = x_train.mean(axis=0), x_train.std(axis=0) + 1e-9
        model.fit((x_train - mean) / scale, y_train)
        scores = model.predict_proba((x_test - mean) / scale)[:, 1]
        run.log_params(**params, features=list(design.columns))
        run.log_metrics(auc=round(float(roc_auc_score(y_test, scores)), 6),
                        accuracy=round(float(accuracy_score(y_test, scores >= 0.5)), 6),
                        test_rows=int(len(y_test)))
        artifact = run.output_dir() / "churn_model.pkl"
        artifact.write_bytes(pickle.dumps({"model": model, "mean": np.asarray(mean), "scale": np.asarray(scale),
                                           "columns": list(design.columns)}, protocol=5))
        run.set_artifact(artifact)
    if run.model_version is not None:
        print(f"registered {run.model_version.ref}  auc {run.metrics['auc']}  artifact {run.model_version.artifact['sha256'][:12]}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
