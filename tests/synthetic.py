"""Synthetic minute-snapshot tables for unit tests (no real data needed).

Each match has a home and an away scoring rate; goals, shots, shots on target, xG and red
cards are drawn minute by minute, and the label is the regulation result, so the score and the
xG carry real signal about the outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = [
    "match_id",
    "competition_id",
    "season_id",
    "event_index",
    "period",
    "current_minute",
    "clock",
    "elapsed_seconds",
    "home_goals",
    "away_goals",
    "reg_home_goals",
    "reg_away_goals",
    "home_shots",
    "away_shots",
    "home_shots_on_target",
    "away_shots_on_target",
    "home_possession",
    "away_possession",
    "home_xg",
    "away_xg",
    "home_red_cards",
    "away_red_cards",
    "result",
]


def make_snapshots(
    n_matches: int = 120,
    seed: int = 0,
    strength: float = 1.0,
    extra_time_share: float = 0.0,
) -> pd.DataFrame:
    """Build a synthetic minute-snapshot table.

    Args:
        n_matches: Number of matches; each gets 91 rows (clock 0..90).
        seed: Random seed.
        strength: Spread of the team-strength difference (0 = all matches even).
        extra_time_share: Share of regulation draws that also get extra-time rows
            (period 3 and 4, clock 90), in which more goals may be scored.

    Returns:
        A frame with the snapshot columns of the real table.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for i in range(n_matches):
        match_id = 1000 + i
        competition = int(rng.choice([11, 16, 43]))
        diff = rng.normal(0.0, 0.5 * strength)
        rate_h = 1.45 * np.exp(diff / 2 + 0.1) / 90.0
        rate_a = 1.15 * np.exp(-diff / 2) / 90.0
        poss_h = float(np.clip(50.0 + 20.0 * diff + rng.normal(0, 4), 20, 80))

        goals = np.zeros((91, 2), dtype=int)
        shots = np.zeros((91, 2), dtype=int)
        sot = np.zeros((91, 2), dtype=int)
        xg = np.zeros((91, 2))
        reds = np.zeros((91, 2), dtype=int)
        for minute in range(1, 91):
            # the snapshot at clock m holds what happened up to minute m
            g = rng.poisson([rate_h, rate_a])
            s = rng.poisson([rate_h * 9, rate_a * 9]) + g
            on = np.minimum(s, g + rng.binomial(s - g, 0.3))
            x = g * 0.3 + (s - g) * rng.uniform(0.03, 0.12, size=2)
            r = rng.binomial(1, 0.0015, size=2)
            goals[minute] = goals[minute - 1] + g
            shots[minute] = shots[minute - 1] + s
            sot[minute] = sot[minute - 1] + on
            xg[minute] = xg[minute - 1] + x
            reds[minute] = reds[minute - 1] + r
        hg, ag = goals[90]
        result = "H" if hg > ag else ("A" if hg < ag else "D")
        for minute in range(91):
            rows.append(
                {
                    "match_id": match_id,
                    "competition_id": competition,
                    "season_id": 1,
                    "event_index": minute * 30,
                    "period": 1 if minute < 45 else 2,
                    "current_minute": minute,
                    "clock": float(minute),
                    "elapsed_seconds": 60.0 * minute,
                    "home_goals": int(goals[minute, 0]),
                    "away_goals": int(goals[minute, 1]),
                    "reg_home_goals": int(goals[minute, 0]),
                    "reg_away_goals": int(goals[minute, 1]),
                    "home_shots": int(shots[minute, 0]),
                    "away_shots": int(shots[minute, 1]),
                    "home_shots_on_target": int(sot[minute, 0]),
                    "away_shots_on_target": int(sot[minute, 1]),
                    "home_possession": poss_h,
                    "away_possession": 100.0 - poss_h,
                    "home_xg": float(xg[minute, 0]),
                    "away_xg": float(xg[minute, 1]),
                    "home_red_cards": int(reds[minute, 0]),
                    "away_red_cards": int(reds[minute, 1]),
                    "result": result,
                }
            )
        if result == "D" and rng.random() < extra_time_share:
            et_h, et_a = int(hg), int(ag)
            for k, period in enumerate((3, 3, 4, 4)):
                et_h += int(rng.random() < 0.2)
                et_a += int(rng.random() < 0.2)
                rows.append(
                    {
                        **rows[-1],
                        "event_index": 3000 + k,
                        "period": period,
                        "current_minute": 95 + 8 * k,
                        "clock": 90.0,
                        "elapsed_seconds": 60.0 * (95 + 8 * k),
                        "home_goals": et_h,
                        "away_goals": et_a,
                    }
                )
    return pd.DataFrame(rows, columns=COLUMNS)


def with_teams(
    snaps: pd.DataFrame, n_teams: int = 12, seed: int = 0, start: str = "2020-01-01"
) -> pd.DataFrame:
    """Give each synthetic match two teams and a date (one match per day, in id order)."""
    rng = np.random.default_rng(seed)
    ids = sorted(snaps["match_id"].unique())
    pairs = {m: rng.choice(n_teams, size=2, replace=False) for m in ids}
    day = {
        m: (pd.Timestamp(start) + pd.Timedelta(days=i)).strftime("%Y-%m-%d")
        for i, m in enumerate(ids)
    }
    return snaps.assign(
        home_team=snaps["match_id"].map(lambda m: f"team{pairs[m][0]}"),
        away_team=snaps["match_id"].map(lambda m: f"team{pairs[m][1]}"),
        match_date=snaps["match_id"].map(day),
    )
