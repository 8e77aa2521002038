"""Pre-match priors: team strength known before kick-off.

Two sources, both strictly pre-match:

* **Elo ratings** (:class:`EloRatings`), goal-based (World Football Elo style): every team starts
  at 1500; after each match, in date order, both ratings move by
  ``k * g(margin) * (result - expected)``. The rating a match gets is the one *before* it, so a
  match never sees itself or anything later. Home advantage counts in the expected result
  except at neutral venues (:func:`neutral_venue`).
* **Closing odds** (:func:`load_closing_odds`): Pinnacle closing 1X2 odds (``PSCH/PSCD/PSCA``)
  of the La Liga matches, joined by ``statsbomb_laliga_match_map.csv`` (football-data.co.uk;
  credit them as the source). :func:`demargin` removes the bookmaker margin (power method).

:func:`match_priors` builds one row per match (teams, date, pre-match ``elo_diff``, decimal
closing odds where known) and :func:`attach_priors` joins it onto a snapshot table, whose rows
carry neither team names nor dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from inplay import config
from inplay.config import ConfigError

__all__ = [
    "ODDS_COLUMNS",
    "PRIOR_COLUMNS",
    "EloRatings",
    "neutral_venue",
    "match_table",
    "demargin",
    "default_odds_dir",
    "load_closing_odds",
    "match_priors",
    "attach_priors",
]

ODDS_COLUMNS: tuple[str, str, str] = ("odds_home", "odds_draw", "odds_away")
"""Decimal closing odds columns (home, draw, away) a snapshot row may carry."""
PRIOR_COLUMNS: tuple[str, ...] = (
    "home_team",
    "away_team",
    "match_date",
    "neutral",
    "elo_diff",
    *ODDS_COLUMNS,
)
"""Columns :func:`attach_priors` adds to a snapshot table."""
ODDS_MAP_FILE = "statsbomb_laliga_match_map.csv"


_TOURNAMENTS = re.compile(r"world cup|\buefa euro\b|copa am[eé]rica|african cup of nations")
_CLUB_CUPS = re.compile(r"champions league|europa league|conference league")


def neutral_venue(competition: str, stage: str | None = None) -> bool:
    """Whether a match is played at a neutral venue (no home advantage).

    National-team tournaments (World Cups, the Euros, Copa América, the African Cup of Nations)
    are; the final of a European club cup is; leagues and the home-and-away rounds of club cups
    are not.

    Args:
        competition: Competition name as in the StatsBomb match list.
        stage: Competition stage (e.g. ``"Final"``); ``None`` when unknown, which for a club cup
            counts as a final (StatsBomb's Champions League data is finals only).

    Returns:
        ``True`` for matches at neutral venues.
    """
    name = competition.lower()
    if _TOURNAMENTS.search(name):
        return True
    if _CLUB_CUPS.search(name):
        return stage is None or stage.strip().lower() == "final"
    return False


@dataclass
class EloRatings:
    """Goal-based Elo ratings, updated one match at a time.

    Attributes:
        k: Update size per match.
        home_advantage: Rating points added to the home side's expected result (not at
            neutral venues).
        initial: Rating of a team never seen.
        ratings: Current rating per team name.
        games: Matches played per team name.
    """

    k: float = 25.0
    home_advantage: float = 60.0
    initial: float = 1500.0
    ratings: dict[str, float] = field(default_factory=dict)
    games: dict[str, int] = field(default_factory=dict)

    def rating(self, team: str | None) -> float:
        """Return a team's current rating (``initial`` when unknown or ``None``)."""
        if team is None:
            return self.initial
        return self.ratings.get(team, self.initial)

    def diff(self, home: str | None, away: str | None) -> float:
        """Return ``rating(home) - rating(away)`` (no home advantage)."""
        return self.rating(home) - self.rating(away)

    def expected(self, home: str, away: str, neutral: bool = False) -> float:
        """Expected result of the home side (win 1, draw 0.5, loss 0)."""
        d = self.diff(home, away) + (0.0 if neutral else self.home_advantage)
        return 1.0 / (1.0 + 10.0 ** (-d / 400.0))

    def update(
        self, home: str, away: str, home_goals: int, away_goals: int, neutral: bool = False
    ) -> None:
        """Move both ratings after a result.

        Args:
            home: Home team name.
            away: Away team name.
            home_goals: Goals of the home side.
            away_goals: Goals of the away side.
            neutral: The match was at a neutral venue.
        """
        margin = abs(int(home_goals) - int(away_goals))
        result = 1.0 if home_goals > away_goals else (0.0 if home_goals < away_goals else 0.5)
        g = 1.0 if margin <= 1 else (1.5 if margin == 2 else (11.0 + margin) / 8.0)
        delta = self.k * g * (result - self.expected(home, away, neutral))
        self.ratings[home] = self.rating(home) + delta
        self.ratings[away] = self.rating(away) - delta
        self.games[home] = self.games.get(home, 0) + 1
        self.games[away] = self.games.get(away, 0) + 1

    def run(self, matches: pd.DataFrame) -> pd.DataFrame:
        """Rate matches in date order; each gets the ratings from *before* it.

        Args:
            matches: One row per match with ``match_id``, ``match_date``, ``home_team``,
                ``away_team``, ``home_score``, ``away_score`` and optionally ``neutral`` and
                ``kick_off``. Rows with a missing score are rated but do not update.

        Returns:
            ``match_id``, ``elo_home``, ``elo_away``, ``elo_diff`` (home minus away, no home
            advantage) and ``elo_games`` (the fewer matches of the two teams so far), in the
            order of ``matches``.
        """
        order_cols = [c for c in ("match_date", "kick_off", "match_id") if c in matches.columns]
        ordered = matches.sort_values(order_cols, kind="stable", na_position="first")
        out = {}
        for row in ordered.itertuples(index=False):
            home, away = str(row.home_team), str(row.away_team)
            neutral = getattr(row, "neutral", False)
            neutral = False if neutral is None or pd.isna(neutral) else bool(neutral)
            eh, ea = self.rating(home), self.rating(away)
            games = min(self.games.get(home, 0), self.games.get(away, 0))
            out[row.match_id] = (eh, ea, eh - ea, games)
            hs, as_ = getattr(row, "home_score", None), getattr(row, "away_score", None)
            if hs is not None and as_ is not None and not (pd.isna(hs) or pd.isna(as_)):
                self.update(home, away, int(hs), int(as_), neutral)
        values = [out[m] for m in matches["match_id"]]
        return pd.DataFrame(
            values, columns=["elo_home", "elo_away", "elo_diff", "elo_games"]
        ).assign(match_id=matches["match_id"].to_numpy())[
            ["match_id", "elo_home", "elo_away", "elo_diff", "elo_games"]
        ]


def match_table(data) -> pd.DataFrame:
    """One row per listed match of a StatsBomb folder.

    Args:
        data: An :class:`inplay.data.statsbomb.StatsBombData`.

    Returns:
        ``match_id``, ``match_date``, ``kick_off``, ``competition_id``, ``season_id``,
        ``competition``, ``home_team``, ``away_team``, ``home_score``, ``away_score`` (the listed
        scores, extra time included) and ``neutral``.
    """
    rows = [m.to_dict() for m in data.matches()]
    cols = [
        "match_id",
        "match_date",
        "kick_off",
        "competition_id",
        "season_id",
        "competition",
        "home_team",
        "away_team",
        "home_score",
        "away_score",
        "competition_stage",
    ]
    frame = pd.DataFrame(rows, columns=cols)
    frame["neutral"] = [
        neutral_venue(str(c), None if pd.isna(s) else str(s))
        for c, s in zip(frame["competition"], frame["competition_stage"], strict=True)
    ]
    frame = frame.drop(columns="competition_stage")
    return frame


def demargin(odds: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Turn decimal 1X2 odds into probabilities without the bookmaker margin (power method).

    Finds ``c >= 1`` with ``sum_k (1 / o_k) ** c = 1`` for each row, which takes more margin off
    long shots than off favourites (the favourite-long-shot bias). Rows with a missing or
    non-positive price give NaN.

    Args:
        odds: ``(n, 3)`` decimal odds (home, draw, away).
        tol: Bisection tolerance on ``c``.

    Returns:
        ``(n, 3)`` probabilities, each valid row summing to 1.
    """
    o = np.asarray(odds, dtype=float).reshape(-1, 3)
    valid = np.all(np.isfinite(o) & (o > 1.0), axis=1)
    out = np.full(o.shape, np.nan)
    if not valid.any():
        return out
    q = 1.0 / o[valid]
    lo = np.full(len(q), 0.5)
    hi = np.full(len(q), 5.0)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        s = (q ** mid[:, None]).sum(axis=1)
        too_big = s > 1.0  # need a larger exponent
        lo = np.where(too_big, mid, lo)
        hi = np.where(too_big, hi, mid)
        if np.max(hi - lo) < tol:
            break
    p = q ** (0.5 * (lo + hi))[:, None]
    out[valid] = p / p.sum(axis=1, keepdims=True)
    return out


def default_odds_dir(data_root: Path | str | None = None) -> Path | None:
    """Where the odds folder is: ``INPLAY_ODDS_DIR``, else ``odds/`` next to the StatsBomb folder.

    Args:
        data_root: The StatsBomb folder (its sibling ``odds`` is tried).

    Returns:
        The folder holding ``statsbomb_laliga_match_map.csv``, or ``None`` when there is none.
    """
    env = config.env_path("INPLAY_ODDS_DIR")
    candidates = [env] if env else []
    if data_root is not None:
        candidates.append(Path(data_root).expanduser().resolve().parent / "odds")
    for path in candidates:
        if (path / ODDS_MAP_FILE).is_file():
            return path
    return None


def load_closing_odds(odds_dir: Path | str) -> pd.DataFrame:
    """Pinnacle closing odds per StatsBomb match id.

    Args:
        odds_dir: Folder with ``statsbomb_laliga_match_map.csv``.

    Returns:
        ``match_id``, ``odds_home``, ``odds_draw``, ``odds_away`` (decimal; rows without all
        three prices are dropped).

    Raises:
        ConfigError: The map file is missing or lacks the ``PSCH/PSCD/PSCA`` columns.
    """
    path = Path(odds_dir) / ODDS_MAP_FILE
    if not path.is_file():
        raise ConfigError(f"no odds map at {path}; set INPLAY_ODDS_DIR to the odds folder")
    raw = pd.read_csv(path)
    need = ["match_id", "PSCH", "PSCD", "PSCA"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise ConfigError(f"{path} lacks column(s) {missing}")
    out = raw[need].rename(columns={"PSCH": "odds_home", "PSCD": "odds_draw", "PSCA": "odds_away"})
    out = out.dropna()
    return out.astype({"match_id": int}).reset_index(drop=True)


def match_priors(
    data=None,
    matches: pd.DataFrame | None = None,
    odds_dir: Path | str | None | bool = True,
    elo: EloRatings | None = None,
) -> pd.DataFrame:
    """Pre-match prior of every listed match: teams, date, Elo difference, closing odds.

    Args:
        data: An :class:`inplay.data.statsbomb.StatsBombData` (or pass ``matches``).
        matches: A :func:`match_table` frame (e.g. several folders concatenated).
        odds_dir: The odds folder; ``True`` finds it with :func:`default_odds_dir`;
            ``None``/``False``: no odds.
        elo: The rating system to run (a fresh :class:`EloRatings` by default); it is left
            holding the ratings after the last match.

    Returns:
        One row per match: ``match_id``, ``competition_id``, ``home_team``, ``away_team``,
        ``match_date``, ``neutral`` (1.0 at a neutral venue), ``elo_diff``, ``elo_games``,
        ``odds_home``, ``odds_draw``, ``odds_away`` (NaN without odds).

    Raises:
        ConfigError: Neither ``data`` nor ``matches`` is given.
    """
    if matches is None:
        if data is None:
            raise ConfigError("match_priors needs a StatsBombData or a match table")
        matches = match_table(data)
    matches = matches.drop_duplicates("match_id").reset_index(drop=True)
    elo = elo if elo is not None else EloRatings()
    rated = elo.run(matches)
    cols = ["match_id", "competition_id", "home_team", "away_team", "match_date"]
    elo_cols = rated[["match_id", "elo_diff", "elo_games"]]
    out = matches[cols].merge(elo_cols, on="match_id", how="left")
    neutral = matches["neutral"] if "neutral" in matches.columns else False
    out.insert(5, "neutral", pd.Series(neutral, index=matches.index).astype(float).to_numpy())
    if odds_dir is True:
        odds_dir = default_odds_dir(getattr(data, "root", None))
    if odds_dir:
        out = out.merge(load_closing_odds(odds_dir), on="match_id", how="left")
    for col in ODDS_COLUMNS:
        if col not in out.columns:
            out[col] = np.nan
    return out


def attach_priors(
    snapshots: pd.DataFrame, priors: pd.DataFrame, columns: Iterable[str] = PRIOR_COLUMNS
) -> pd.DataFrame:
    """Join the pre-match prior of each match onto its snapshot rows.

    Args:
        snapshots: Snapshot rows with ``match_id``.
        priors: Output of :func:`match_priors`.
        columns: Prior columns to add (existing ones are replaced).

    Returns:
        A copy of ``snapshots`` (same row order and index) with the prior columns; matches
        without a prior get NaN.
    """
    cols = [c for c in columns if c in priors.columns and c != "match_id"]
    left = snapshots.drop(columns=[c for c in cols if c in snapshots.columns])
    right = priors[["match_id", *cols]].drop_duplicates("match_id")
    merged = left.merge(right, on="match_id", how="left", validate="many_to_one")
    merged.index = snapshots.index
    return merged
