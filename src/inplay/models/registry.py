"""Model registry: names to classes, the default model list and :func:`make_model`."""

from __future__ import annotations

from inplay.config import ConfigError
from inplay.models.base import OutcomeModel
from inplay.models.baselines import (
    ClimatologyModel,
    ScoreboardModel,
    ScoreboardXGModel,
    StateMNLogitModel,
)
from inplay.models.boosted import BoostedModel, BoostedOddsModel
from inplay.models.goal_rate import GoalRateModel, GoalRateOddsModel, SkellamModel

__all__ = ["MODELS", "DEFAULT_MODELS", "make_model"]

MODELS: dict[str, type[OutcomeModel]] = {
    ClimatologyModel.name: ClimatologyModel,
    ScoreboardModel.name: ScoreboardModel,
    ScoreboardXGModel.name: ScoreboardXGModel,
    SkellamModel.name: SkellamModel,
    StateMNLogitModel.name: StateMNLogitModel,
    GoalRateModel.name: GoalRateModel,
    GoalRateOddsModel.name: GoalRateOddsModel,
    BoostedModel.name: BoostedModel,
    BoostedOddsModel.name: BoostedOddsModel,
}
"""Registry of model names to classes."""

DEFAULT_MODELS: tuple[str, ...] = ("climatology", "scoreboard", "state_mnlogit", "goal_rate")
"""The models fitted and compared when none are named (``inplay fit``/``inplay evaluate``,
:func:`inplay.pipeline.fit_models`, notebook 03 and :func:`inplay.evaluation.evaluate.evaluate`)."""


def make_model(name: str) -> OutcomeModel:
    """Return a new, unfitted model by registry name.

    Args:
        name: One of the keys of :data:`MODELS`.

    Returns:
        The model instance.

    Raises:
        ConfigError: The name is unknown; the message lists the valid names.
    """
    try:
        cls = MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}"
        ) from None
    return cls()
