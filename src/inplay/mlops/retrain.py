"""Retrain and promote: a challenger against the champion on matches neither has seen.

:func:`retrain` takes the matches that ended since the champion was trained (those not among
its training matches: from ``ml-pipeline-processed-data`` or from the data folder), holds out a
share of them (chosen by a hash of the match id, so the same matches are held out every time),
fits a challenger of the champion's model class on the champion's training matches plus the
rest of the new ones, and scores both models on the held-out matches' minute snapshots.

**The promotion rule.** Each held-out match gives one paired difference, the challenger's mean
log loss over its 91 minute rows minus the champion's (rows of a match are dependent; matches
are not). The challenger is promoted when a one-sided paired t-test over matches says it is
better (``p < alpha``, ``INPLAY_PROMOTE_ALPHA``, default 0.05) and there are at least
``min_matches`` held-out matches; otherwise it is registered but rejected. The decision and its
figures go to MLflow and to ``ml-pipeline-monitoring`` (``model_promoted`` or
``model_rejected``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from inplay import config

__all__ = [
    "TEST_NAME",
    "PairedTest",
    "holdout_ids",
    "match_log_loss",
    "paired_test",
]

TEST_NAME = "one-sided paired t-test over held-out matches (per-match mean log loss)"


def holdout_ids(match_ids, share: float = 0.3, salt: str = "inplay-holdout") -> set[int]:
    """The matches held out for the comparison: those whose salted hash falls under ``share``.

    Deterministic (the same match is always held out or always not) and independent of which
    other matches are present, so a match held out once is never trained on later.
    """
    out = set()
    for match_id in match_ids:
        digest = hashlib.sha256(f"{salt}:{int(match_id)}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 < share:
            out.add(int(match_id))
    return out


def match_log_loss(rows: pd.DataFrame, probs: np.ndarray) -> pd.Series:
    """Mean log loss over each match's rows (index: match id)."""
    from inplay.evaluation.metrics import _row_log_loss
    from inplay.models.base import encode_result

    losses = _row_log_loss(encode_result(rows["result"].to_numpy()), np.asarray(probs))
    return pd.Series(losses, index=rows["match_id"].to_numpy()).groupby(level=0).mean()


@dataclass
class PairedTest:
    """The comparison of champion and challenger on the same held-out matches."""

    n_matches: int
    champion_log_loss: float | None
    challenger_log_loss: float | None
    mean_diff: float | None
    se: float | None
    p_value: float | None
    alpha: float
    promote: bool
    reason: str
    test: str = TEST_NAME
    metric: str = "log_loss"
    per_match: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def figures(self) -> dict:
        """The JSON-safe figures (without the per-match table)."""
        out = asdict(self)
        out.pop("per_match")
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in out.items()
        }


def paired_test(
    champion: pd.Series, challenger: pd.Series, alpha: float | None = None, min_matches: int = 10
) -> PairedTest:
    """Decide: is the challenger better than the champion on the same matches?

    Args:
        champion: Per-match mean log loss of the champion (index: match id).
        challenger: The same for the challenger (same matches).
        alpha: Significance level (None: ``INPLAY_PROMOTE_ALPHA``, default 0.05).
        min_matches: Fewer held-out matches than this: rejected, too few to tell.
    """
    from scipy import stats

    alpha = config.env_float("INPLAY_PROMOTE_ALPHA", 0.05) if alpha is None else alpha
    table = pd.DataFrame({"champion": champion, "challenger": challenger}).dropna()
    table.index.name = "match_id"
    n = len(table)
    diff = table["challenger"] - table["champion"]
    base = dict(alpha=float(alpha), per_match=table.reset_index(), n_matches=n)
    if n < max(min_matches, 2):
        return PairedTest(
            champion_log_loss=float(table["champion"].mean()) if n else None,
            challenger_log_loss=float(table["challenger"].mean()) if n else None,
            mean_diff=float(diff.mean()) if n else None,
            se=None,
            p_value=None,
            promote=False,
            reason=f"too few held-out matches to tell: {n} (at least {min_matches} needed)",
            **base,
        )
    se = float(diff.std(ddof=1) / math.sqrt(n))
    if float(diff.abs().max()) == 0.0:  # the same losses on every match: no evidence
        p_value = 1.0
    else:
        p_value = float(
            stats.ttest_rel(table["challenger"], table["champion"], alternative="less").pvalue
        )
    promote = bool(diff.mean() < 0 and p_value < alpha)
    verdict = "better" if promote else "not better"
    reason = (
        f"challenger {verdict}: mean log loss difference {diff.mean():+.4f} "
        f"(se {se:.4f}) over {n} held-out matches, p = {p_value:.3g} "
        f"{'<' if p_value < alpha else '>='} {alpha}"
    )
    return PairedTest(
        champion_log_loss=float(table["champion"].mean()),
        challenger_log_loss=float(table["challenger"].mean()),
        mean_diff=float(diff.mean()),
        se=se,
        p_value=p_value,
        promote=promote,
        reason=reason,
        **base,
    )


@dataclass
class RetrainResult:
    """What a retrain did: the decision, the versions, and the tables behind it."""

    decision: PairedTest
    model_name: str
    champion_version: int
    challenger_version: int | None
    run_id: str | None
    new_matches: list[int]
    held_out: list[int]
    train_matches: int
    by_bin: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def promoted(self) -> bool:
        """Whether the challenger became the champion."""
        return self.decision.promote

    def summary(self) -> dict:
        """A JSON-safe summary (``reports/retrain.json``)."""
        from inplay.models.persistence import json_safe

        return json_safe(
            {
                "decision": "promoted" if self.promoted else "rejected",
                "model_name": self.model_name,
                "champion_version": self.champion_version,
                "challenger_version": self.challenger_version,
                "run_id": self.run_id,
                "new_matches": len(self.new_matches),
                "held_out_matches": self.held_out,
                "challenger_train_matches": self.train_matches,
                **self.decision.figures(),
                "per_match": self.decision.per_match.to_dict(orient="records"),
                "by_bin": self.by_bin.to_dict(orient="records"),
            }
        )


def new_rows_from_topic(bootstrap: str | None = None, topic: str = config.TOPIC_PROCESSED):
    """The labelled minute rows on ``ml-pipeline-processed-data`` (latest record per match)."""
    from inplay.kafka.io import read_topic
    from inplay.live.messages import decode

    latest: dict[int, dict] = {}
    for record in read_topic(topic, bootstrap, timeout=60):
        body = decode(record.value)
        if body and body.get("kind") == "match_snapshots":
            latest[int(body["match_id"])] = body
    rows = [row for body in latest.values() for row in body["rows"]]
    return pd.DataFrame(rows)


def new_rows_from_data(competition_ids=None, season_ids=None, exclude=(), progress: bool = True):
    """Labelled minute rows of the data folder's matches (a selection), minus ``exclude``."""
    from inplay.data.dataset import build_snapshots
    from inplay.data.statsbomb import ensure_data
    from inplay.pipeline import select_matches

    data = ensure_data()
    matches = select_matches(data, competition_ids, season_ids, None, 0)
    matches = [m for m in matches if m.match_id not in set(exclude)]
    if not matches:
        return pd.DataFrame()
    minutes, _, _ = build_snapshots(data, matches, per_event=False, progress=progress)
    return minutes


def _by_bin(rows: pd.DataFrame, champion: np.ndarray, challenger: np.ndarray) -> pd.DataFrame:
    """Log loss of both models per 15-minute bin of the held-out rows."""
    from inplay.evaluation.tables import clock_bins

    frames = []
    for name, probs in (("champion", champion), ("challenger", challenger)):
        part = rows[["match_id", "clock", "result"]].copy()
        part[["p_home", "p_draw", "p_away"]] = probs
        part["model"] = name
        frames.append(part)
    oof = pd.concat(frames, ignore_index=True)
    from inplay.evaluation.metrics import _row_log_loss
    from inplay.models.base import encode_result

    oof["log_loss"] = _row_log_loss(
        encode_result(oof["result"].to_numpy()), oof[["p_home", "p_draw", "p_away"]].to_numpy()
    )
    oof["bin"] = clock_bins(oof["clock"]).astype(str)
    table = oof.groupby(["bin", "model"], observed=True)["log_loss"].mean().unstack("model")
    return table.reset_index()[["bin", "champion", "challenger"]]


def _challenger(name: str, train: pd.DataFrame, n_splits: int, seed: int, registry):
    """Cross-validate and fit a challenger, save it, log and register it (not promoted)."""
    from inplay.evaluation.evaluate import evaluate
    from inplay.mlops.quality import drift_band
    from inplay.mlops.tracking import log_fit
    from inplay.models import make_model, save_model

    splits = max(2, min(n_splits, train["match_id"].nunique()))
    result = evaluate(train, [name], n_splits=splits, seed=seed, priors=False)
    model = make_model(name).fit(train)
    oof = result.oof[result.oof["model"] == name]
    metrics = {
        "cv": result.metrics_for(name),
        "cv_splits": splits,
        "split": "grouped by match",
        "drift_band": drift_band(oof),
    }
    data_info = {"matches": int(train["match_id"].nunique()), "rows": int(len(train))}
    folder = save_model(
        model, config.MODELS_DIR / "challenger", data_info=data_info, metrics=metrics
    )
    run_id, version = log_fit(model, folder, result, train, registry)
    return model, run_id, version


def _record(result: RetrainResult, registry, bootstrap: str | None, publish: bool) -> None:
    """The decision to MLflow (the challenger's run), the monitoring topic and the reports."""
    import json
    import time

    from inplay.mlops.messages import MODEL_PROMOTED, MODEL_REJECTED, body

    figures = result.decision.figures()
    if result.run_id is not None:
        client = registry.client
        for key in ("champion_log_loss", "challenger_log_loss", "mean_diff", "se", "p_value"):
            if figures.get(key) is not None:
                client.log_metric(result.run_id, f"holdout_{key}", figures[key])
        client.set_tag(result.run_id, "decision", "promoted" if result.promoted else "rejected")
        client.set_tag(result.run_id, "decision_reason", result.decision.reason)
        client.log_dict(result.run_id, result.summary(), "retrain.json")
    path = config.REPORTS_DIR / "retrain.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.summary(), indent=2) + "\n")
    if publish:
        from inplay.kafka.clients import make_producer_client

        kind = MODEL_PROMOTED if result.promoted else MODEL_REJECTED
        figures.pop("per_match", None)
        message = body(
            kind,
            model_name=result.model_name,
            champion_version=result.champion_version,
            challenger_version=result.challenger_version,
            run_id=result.run_id,
            at=time.time(),
            **{k: figures[k] for k in kind.names if k in figures},
        )
        producer = make_producer_client(bootstrap)
        try:
            producer.send(config.TOPIC_MONITORING, b"model", json.dumps(message).encode())
            producer.flush()
        finally:
            producer.close()


def _rows(registry, version: int, new_rows: pd.DataFrame | None, share: float, folder=None):
    """All rows with priors (champion's matches + new ones), the new ids and the held-out ids."""
    from inplay.data.dataset import load_snapshots
    from inplay.evaluation.evaluate import with_priors

    train_ids = set(registry.train_match_ids(version))
    base = load_snapshots("minute", folder)
    base = base[base["match_id"].isin(train_ids)]
    new = new_rows if new_rows is not None else pd.DataFrame(columns=["match_id"])
    new = new[~new["match_id"].isin(train_ids)]
    if base.empty or new.empty:
        raise config.ConfigError(
            f"nothing to retrain on: {base['match_id'].nunique()} of the champion's "
            f"{len(train_ids)} training matches in the snapshot table, {new['match_id'].nunique()} "
            "new matches (run `inplay dataset` for the first; replay and `inplay quality`, or "
            "--competition/--season, for the second)"
        )
    new_ids = sorted(int(m) for m in new["match_id"].unique())
    rows = with_priors(pd.concat([base, new], ignore_index=True))
    return rows, new_ids, holdout_ids(new_ids, share)


def retrain(
    new_rows: pd.DataFrame | None = None,
    *,
    registry=None,
    holdout_share: float = 0.3,
    alpha: float | None = None,
    min_matches: int = 10,
    n_splits: int = 5,
    seed: int = 0,
    bootstrap: str | None = None,
    publish: bool = True,
    snapshots_dir=None,
) -> RetrainResult:
    """Fit a challenger on the champion's matches plus new ones; promote it if it is better.

    Args:
        new_rows: Labelled minute rows of matches that ended since the champion was trained
            (:func:`new_rows_from_topic` or :func:`new_rows_from_data`); matches the champion
            was trained on are dropped.
        registry: The model registry (default: the configured one).
        holdout_share: Share of the new matches held out for the comparison.
        alpha: Significance level of the paired test (None: ``INPLAY_PROMOTE_ALPHA``).
        min_matches: Fewer held-out matches: rejected, too few to tell.
        n_splits: Folds of the challenger's cross-validation (its drift band and metrics).
        seed: Seed of its fold assignment.
        bootstrap: Kafka for the decision message (``publish``).
        publish: Send ``model_promoted`` / ``model_rejected`` to ``ml-pipeline-monitoring``.
        snapshots_dir: The snapshot table holding the champion's training matches (default
            ``data/processed``).

    Raises:
        ModelError: the registry has no champion yet (run ``inplay fit``).
        ConfigError: no champion training rows (run ``inplay dataset``) or no new matches.
    """
    from inplay.mlops.registry import Registry

    registry = registry or Registry()
    info = registry.info(None)
    champion = registry.load(info.version)
    rows, new_ids, held = _rows(registry, info.version, new_rows, holdout_share, snapshots_dir)
    held_rows = rows[rows["match_id"].isin(held)].sort_values(["match_id", "clock"])
    train = rows[~rows["match_id"].isin(held)]
    challenger, run_id, version = _challenger(champion.name, train, n_splits, seed, registry)
    p_champion = np.asarray(champion.predict_proba(held_rows), dtype=float)
    p_challenger = np.asarray(challenger.predict_proba(held_rows), dtype=float)
    decision = paired_test(
        match_log_loss(held_rows, p_champion),
        match_log_loss(held_rows, p_challenger),
        alpha=alpha,
        min_matches=min_matches,
    )
    if decision.promote:
        registry.set_champion(version)
    result = RetrainResult(
        decision, champion.name, info.version, version, run_id,
        new_ids, sorted(held),
        int(train["match_id"].nunique()), _by_bin(held_rows, p_champion, p_challenger),
    )  # fmt: skip
    _record(result, registry, bootstrap, publish)
    return result
