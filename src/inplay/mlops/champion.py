"""The model a running worker scores with, and how it follows the registry's champion.

A worker starts with the champion (the registered model version with the alias
``champion``; without a registry or a champion, the model ``inplay fit`` selected). A
:class:`ChampionSource` then looks at the alias every ``INPLAY_MODEL_POLL_SECONDS`` on a
thread of its own; a new champion is loaded and smoke-tested there, and the worker takes it
between two batches (:meth:`ChampionSource.take`), so no batch is scored by two models and no
prediction is lost or repeated. A champion that fails to load or to score the smoke batch is
refused (the worker keeps its model and says why); an unreachable registry changes nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inplay import config
from inplay.errors import InplayError

__all__ = [
    "LiveModel",
    "ChampionSource",
    "FixedModel",
    "follow_champion",
    "smoke_check",
    "smoke_requests",
    "resolve_live_model",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveModel:
    """A loaded model, the registry version it came from (if any) and its model card."""

    model: Any
    registry_version: int | None = None
    card: dict | None = None

    @property
    def version(self) -> str:
        """The model's own version (``<name>-<time>-<hash>``), as results carry it."""
        return str(getattr(self.model, "version", None) or getattr(self.model, "name", "unknown"))

    @property
    def drift_band(self) -> dict | None:
        """The band of live quality expected from the model's cross-validation, if recorded."""
        metrics = (self.card or {}).get("metrics") or {}
        return metrics.get("drift_band")


def smoke_requests() -> list[dict]:
    """A few made-up prediction requests: kick-off, a lead, a red card, the last minute."""
    from inplay.features import MatchState
    from inplay.live import messages

    cases = [
        (0.0, 1, 0, 0, 0),
        (30.0, 1, 1, 0, 0),
        (60.0, 2, 0, 2, 1),
        (89.5, 2, 2, 2, 0),
    ]
    out = []
    for clock, period, home, away, red in cases:
        state = MatchState(0, "smoke home", "smoke away")
        features = state.features()
        features.update(
            clock=clock,
            current_minute=int(clock),
            elapsed_seconds=clock * 60.0,
            period=period,
            home_goals=home,
            away_goals=away,
            reg_home_goals=home,
            reg_away_goals=away,
            home_red_cards=red,
        )
        event = {"home_team": state.home_team, "away_team": state.away_team, "neutral": False}
        out.append(messages.request_message(features, event))
    return out


def smoke_check(model: Any) -> str | None:
    """Why ``model`` must not score live, or None when it passes the smoke batch.

    It must return, for :func:`smoke_requests`, an (n, 3) array of finite probabilities in
    [0, 1] whose rows sum to 1 (within 1e-6).
    """
    from inplay.live.batch import predict_requests

    requests = smoke_requests()
    try:
        probs = np.asarray(predict_requests(model, requests), dtype=float)
    except Exception as exc:  # noqa: BLE001 - any failure is a reason to refuse
        return f"scoring the smoke batch failed: {type(exc).__name__}: {exc}"
    if probs.shape != (len(requests), 3):
        return f"the smoke batch gave shape {probs.shape}, not ({len(requests)}, 3)"
    if not np.all(np.isfinite(probs)) or probs.min() < 0 or probs.max() > 1:
        return "the smoke batch gave probabilities outside [0, 1] (or not finite)"
    worst = float(np.abs(probs.sum(axis=1) - 1).max())
    if worst > 1e-6:
        return f"the smoke batch's probabilities do not sum to 1 (off by {worst:.2g})"
    return None


def _card(model_dir: Path | None) -> dict | None:
    import json

    from inplay.models.persistence import CARD_FILE

    if model_dir is None or not (Path(model_dir) / CARD_FILE).is_file():
        return None
    return json.loads((Path(model_dir) / CARD_FILE).read_text())


def _model_dir(choice: str | Path | None) -> Path:
    """The folder of a saved model named as ``inplay score --model`` names it."""
    from inplay.pipeline import selected_model_name

    models_dir = config.MODELS_DIR
    path = Path(selected_model_name(models_dir) if choice is None else choice)
    if not path.exists():
        path = models_dir / str(path)
    return path if path.is_dir() else path.parent


def resolve_live_model(choice: str | Path | None = None, registry=None) -> tuple[LiveModel, bool]:
    """The model a worker starts with, and whether it follows the champion.

    Args:
        choice: None: the registry's champion, else (no registry, no champion) the model
            ``inplay fit`` selected; ``"champion"``: the registry's champion (an error without
            one); ``"selected"``, a model name under ``models/`` or a path: that model, fixed.
        registry: A :class:`inplay.mlops.registry.Registry` (None: the configured one).

    Raises:
        ConfigError: no model to load (the message says what to run).
    """
    from inplay.pipeline import load_scoring_model

    if choice not in (None, "champion"):
        fixed = None if choice == "selected" else choice  # what `inplay fit` selected
        return LiveModel(load_scoring_model(fixed), None, _card(_model_dir(fixed))), False
    try:
        from inplay.mlops.registry import Registry

        registry = registry or Registry()
        info = registry.champion() if registry.exists() else None
        if info is not None:
            model_dir = registry.download(info.version)
            return LiveModel(registry.load(info.version), info.version, _card(model_dir)), True
    except InplayError as exc:
        if choice == "champion":
            raise
        log.warning("model registry unavailable, using the selected model: %s", exc)
    if choice == "champion":
        raise config.ConfigError(
            "the model registry has no champion yet: run `inplay fit` (or notebook 03), "
            f"or check MLFLOW_TRACKING_URI ({config.env_str('MLFLOW_TRACKING_URI') or 'default'})"
        )
    return LiveModel(load_scoring_model(None), None, _card(_model_dir(None))), True


class FixedModel:
    """The source of a worker whose model never changes (the default of a :class:`Scorer`)."""

    def start(self) -> None:
        """Nothing to watch."""

    def close(self) -> None:
        """Nothing to stop."""

    def take(self) -> tuple[None, list[dict]]:
        """Never a new model, never a notice."""
        return None, []


@dataclass
class _Pending:
    model: LiveModel | None = None
    notices: list[dict] = field(default_factory=list)


class ChampionSource:
    """Follows the registry's champion alias on a thread; a worker takes changes between batches.

    Args:
        current: The model the worker starts with.
        registry: The registry to watch (None: the configured one, created on the thread).
        poll_seconds: Seconds between looks (None: ``INPLAY_MODEL_POLL_SECONDS``; 0: never).
        follow: False: never change the model (a model named on the command line).
    """

    def __init__(
        self,
        current: LiveModel,
        registry=None,
        poll_seconds: float | None = None,
        follow: bool = True,
    ) -> None:
        self.current = current
        self._registry = registry
        if poll_seconds is None:
            poll_seconds = config.env_float("INPLAY_MODEL_POLL_SECONDS", 5.0) or 0.0
        self.poll_seconds = float(poll_seconds)
        self.follow = follow and self.poll_seconds > 0
        self._lock = threading.Lock()
        self._pending = _Pending()
        self._refused: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unavailable = False

    # -- the worker's side ---------------------------------------------------------------------
    def start(self) -> None:
        """Start watching (no-op when not following)."""
        if self.follow and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._watch, name="champion", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def pending_version(self) -> int | None:
        """The registry version loaded, tested and waiting for the next batch (None: none)."""
        with self._lock:
            model = self._pending.model
        return None if model is None else model.registry_version

    def take(self) -> tuple[LiveModel | None, list[dict]]:
        """A new model to switch to now (or None) and the notices (refusals) since last time."""
        with self._lock:
            pending, self._pending = self._pending, _Pending()
        if pending.model is not None:
            self.current = pending.model
        return pending.model, pending.notices

    # -- the watcher's side --------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watcher never stops the worker
                log.exception("looking for a new champion failed")

    def check(self) -> None:
        """Look at the champion once; load, test and queue it when it is new."""
        from inplay.mlops.registry import Registry

        try:
            self._registry = self._registry or Registry()
            info = self._registry.champion() if self._registry.exists() else None
        except InplayError as exc:
            if not self._unavailable:
                log.warning("model registry unreachable, scoring on with %s: %s", self._kept, exc)
            self._unavailable = True
            return
        self._unavailable = False
        with self._lock:
            known = self._pending.model or self.current
        if info is None or info.version == known.registry_version or info.version in self._refused:
            return
        candidate, reason = self._load(info.version)
        with self._lock:
            if candidate is not None:
                self._pending.model = candidate
            else:
                self._refused.add(info.version)
                self._pending.notices.append(
                    {"registry_version": info.version, "reason": reason, "at": time.time()}
                )
        if reason:
            log.warning("refused champion version %s: %s", info.version, reason)

    @property
    def _kept(self) -> str:
        return self.current.version

    def _load(self, version: int) -> tuple[LiveModel | None, str | None]:
        try:
            model = self._registry.load(version)
            card = _card(self._registry.download(version))
        except Exception as exc:  # noqa: BLE001 - a model that cannot load is refused
            return None, f"it failed to load: {type(exc).__name__}: {exc}"
        reason = smoke_check(model)
        if reason is not None:
            return None, reason
        return LiveModel(model, version, card), None


def follow_champion(source: ChampionSource, worker) -> list[tuple[str, bytes, bytes]]:
    """Between two batches: switch ``worker`` to a new champion, if any.

    Args:
        source: What the worker follows.
        worker: A :class:`inplay.live.batch.BatchScorer` or
            :class:`inplay.live.labeller.Labeller` (``use_model``, ``model_version``,
            ``worker_id``, ``monitoring_topic``).

    Returns:
        The monitoring messages that say what happened (``model_refused`` per refused
        champion, ``model_swapped`` when the worker switched), to publish with the batch.
    """
    import orjson

    from inplay.mlops.messages import MODEL_REFUSED, MODEL_SWAPPED, body

    old = worker.model_version
    new, refusals = source.take()
    bodies = [
        body(MODEL_REFUSED, worker=worker.worker_id, kept_version=old, **notice)
        for notice in refusals
    ]
    if new is not None:
        worker.use_model(new.model)
        bodies.append(
            body(
                MODEL_SWAPPED,
                worker=worker.worker_id,
                old_version=old,
                new_version=worker.model_version,
                registry_version=new.registry_version,
                at=time.time(),
            )
        )
        log.info("now scoring with %s (was %s)", worker.model_version, old)
    return [(worker.monitoring_topic, b"model", orjson.dumps(b)) for b in bodies]
