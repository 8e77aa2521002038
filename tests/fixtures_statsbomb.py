"""Build tiny StatsBomb open-data folders for tests.

Reusable helpers:

- :func:`make_match` builds one StatsBomb-shaped match-list entry;
- :func:`make_event` builds one StatsBomb-shaped event;
- :func:`write_open_data` writes ``competitions.json``, ``matches/<c>/<s>.json`` and
  ``events/<id>.json[.gz]`` under a root folder, the layout of ``statsbomb/open-data/data``.
"""

from __future__ import annotations

import gzip
import json
import random
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# StatsBomb event type ids, as in the real data.
EVENT_TYPE_IDS: dict[str, int] = {
    "Ball Recovery": 2,
    "Dispossessed": 3,
    "Duel": 4,
    "Camera On": 5,
    "Block": 6,
    "Offside": 8,
    "Clearance": 9,
    "Interception": 10,
    "Dribble": 14,
    "Shot": 16,
    "Pressure": 17,
    "Half Start": 18,
    "Substitution": 19,
    "Own Goal Against": 20,
    "Foul Won": 21,
    "Foul Committed": 22,
    "Goal Keeper": 23,
    "Bad Behaviour": 24,
    "Own Goal For": 25,
    "Player On": 26,
    "Player Off": 27,
    "Shield": 28,
    "Camera off": 29,
    "Pass": 30,
    "Half End": 34,
    "Starting XI": 35,
    "Tactical Shift": 36,
    "Error": 37,
    "Miscontrol": 38,
    "Dribbled Past": 39,
    "Injury Stoppage": 40,
    "Referee Ball-Drop": 41,
    "Ball Receipt*": 42,
    "Carry": 43,
}

# Minute at which each period starts (StatsBomb timestamps restart at 0 every period).
PERIOD_START_MINUTE: dict[int, int] = {1: 0, 2: 45, 3: 90, 4: 105, 5: 120}

COMPETITION_NAMES: dict[int, str] = {
    43: "FIFA World Cup",
    37: "FA Women's Super League",
    11: "La Liga",
    16: "Champions League",
    49: "NWSL",
    72: "Women's World Cup",
}


def make_match(
    match_id: int,
    home: str,
    away: str,
    home_score: int = 0,
    away_score: int = 0,
    *,
    competition_id: int = 43,
    season_id: int = 106,
    competition_name: str | None = None,
    season_name: str | None = None,
    match_date: str = "2022-11-20",
    kick_off: str | None = "17:00:00.000",
    home_team_id: int | None = None,
    away_team_id: int | None = None,
    stage: str = "Group Stage",
) -> dict[str, Any]:
    """Return one StatsBomb-shaped match-list entry (the fields inplay reads, and a few more)."""
    return {
        "match_id": match_id,
        "match_date": match_date,
        "kick_off": kick_off,
        "competition": {
            "competition_id": competition_id,
            "country_name": "International",
            "competition_name": competition_name
            or COMPETITION_NAMES.get(competition_id, f"Competition {competition_id}"),
        },
        "season": {"season_id": season_id, "season_name": season_name or str(season_id)},
        "home_team": {
            "home_team_id": home_team_id if home_team_id is not None else _team_id(home),
            "home_team_name": home,
            "home_team_gender": "male",
        },
        "away_team": {
            "away_team_id": away_team_id if away_team_id is not None else _team_id(away),
            "away_team_name": away,
            "away_team_gender": "male",
        },
        "home_score": home_score,
        "away_score": away_score,
        "match_status": "available",
        "metadata": {"data_version": "1.1.0"},
        "match_week": 1,
        "competition_stage": {"id": 10, "name": stage},
    }


def _team_id(name: str) -> int:
    return 1000 + sum(ord(c) for c in name) % 9000


def make_event(
    index: int,
    type_name: str,
    team: str,
    *,
    team_id: int | None = None,
    period: int = 1,
    minute: int = 0,
    second: int = 0,
    millisecond: int = 0,
    timestamp: str | None = None,
    possession: int = 1,
    possession_team: str | None = None,
    possession_team_id: int | None = None,
    duration: float = 0.0,
    event_id: str | None = None,
    xg: float | None = None,
    outcome: str | None = None,
    shot_type: str = "Open Play",
    card: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Return one StatsBomb-shaped event.

    ``minute``/``second`` are match-clock values (period 2 starts at minute 45); the
    ``timestamp`` (``HH:MM:SS.mmm``, restarting every period) is derived from them unless given.
    For ``type_name="Shot"`` a ``shot`` object with ``statsbomb_xg`` (default 0.1),
    ``outcome.name`` (default ``"Saved"``) and ``type.name`` is added. ``card`` adds
    ``foul_committed.card`` to a ``"Foul Committed"`` or ``bad_behaviour.card`` to a
    ``"Bad Behaviour"`` event. Extra keyword arguments are added as top-level fields.
    """
    tid = team_id if team_id is not None else _team_id(team)
    pteam = possession_team or team
    ptid = possession_team_id if possession_team_id is not None else _team_id(pteam)
    if timestamp is None:
        seconds = max(0, (minute - PERIOD_START_MINUTE.get(period, 0)) * 60 + second)
        timestamp = (
            f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}.{millisecond:03d}"
        )
    event: dict[str, Any] = {
        "id": event_id or str(uuid.uuid5(uuid.NAMESPACE_OID, f"{team}-{index}-{type_name}")),
        "index": index,
        "period": period,
        "timestamp": timestamp,
        "minute": minute,
        "second": second,
        "type": {"id": EVENT_TYPE_IDS.get(type_name, 0), "name": type_name},
        "possession": possession,
        "possession_team": {"id": ptid, "name": pteam},
        "team": {"id": tid, "name": team},
        "duration": duration,
    }
    if type_name == "Shot" or xg is not None or outcome is not None:
        event["shot"] = {
            "statsbomb_xg": 0.1 if xg is None else xg,
            "outcome": {"name": outcome or "Saved"},
            "type": {"name": shot_type},
        }
    if card is not None:
        key = "bad_behaviour" if type_name == "Bad Behaviour" else "foul_committed"
        event[key] = {"card": {"name": card}}
    event.update(extra)
    return event


def write_open_data(
    root: Path,
    matches: list[dict[str, Any]],
    events: dict[int, list[dict[str, Any]]],
    gzip_ids: Iterable[int] = (),
    corrupt_ids: Iterable[int] = (),
) -> Path:
    """Write a mini StatsBomb open-data folder.

    Args:
        root: Target folder (created).
        matches: Match-list entries (see :func:`make_match`); grouped into
            ``matches/<competition_id>/<season_id>.json``, and ``competitions.json`` lists
            each competition season once.
        events: Events per match id, written as ``events/<id>.json``.
        gzip_ids: Match ids whose events are written gzip-compressed (``<id>.json.gz``).
        corrupt_ids: Match ids that get a corrupt ``events/<id>.json.gz`` (not gzip data).

    Returns:
        ``root``.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    gz = set(gzip_ids)
    seasons: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for match in matches:
        key = (match["competition"]["competition_id"], match["season"]["season_id"])
        seasons.setdefault(key, []).append(match)
    competitions = []
    for (cid, sid), listed in seasons.items():
        first = listed[0]
        competitions.append(
            {
                "competition_id": cid,
                "season_id": sid,
                "country_name": first["competition"].get("country_name", "International"),
                "competition_name": first["competition"]["competition_name"],
                "competition_gender": "male",
                "season_name": first["season"]["season_name"],
                "match_updated": "2023-01-01T00:00:00.000000",
                "match_available": "2023-01-01T00:00:00.000000",
            }
        )
        path = root / "matches" / str(cid) / f"{sid}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(listed, indent=2), encoding="utf-8")
    (root / "competitions.json").write_text(json.dumps(competitions, indent=2), encoding="utf-8")
    events_dir = root / "events"
    events_dir.mkdir(exist_ok=True)
    for match_id, evs in events.items():
        text = json.dumps(evs).encode("utf-8")
        if match_id in gz:
            (events_dir / f"{match_id}.json.gz").write_bytes(gzip.compress(text))
        else:
            (events_dir / f"{match_id}.json").write_bytes(text)
    for match_id in corrupt_ids:
        (events_dir / f"{match_id}.json.gz").write_bytes(b"\x1f\x8b\x08\x00 this is not gzip")
    return root


def long_match(home: str, away: str, seed: int) -> list[dict]:
    """~180 events over two halves, with goals, on-target shots and a red card."""
    rng = random.Random(seed)
    events = [make_event(1, "Starting XI", home), make_event(2, "Starting XI", away)]
    index = 3
    for period, (lo, hi) in ((1, (0, 46)), (2, (45, 92))):
        for minute in range(lo, hi):
            for second in (5, 35):
                team = home if rng.random() < 0.5 else away
                roll = rng.random()
                if roll < 0.04:
                    event = make_event(
                        index,
                        "Shot",
                        team,
                        period=period,
                        minute=minute,
                        second=second,
                        xg=round(rng.uniform(0.05, 0.6), 3),
                        outcome=rng.choice(["Goal", "Saved", "Off T", "Saved to Post"]),
                    )
                elif roll < 0.05:
                    event = make_event(
                        index,
                        "Foul Committed",
                        team,
                        period=period,
                        minute=minute,
                        second=second,
                        card=rng.choice(["Yellow Card", "Second Yellow"]),
                    )
                else:
                    event = make_event(
                        index, "Pass", team, period=period, minute=minute, second=second
                    )
                events.append(event)
                index += 1
    return events


def write_league(root: Path, teams: list[tuple[str, str]], first_id: int, seed: int = 0) -> Path:
    """An open-data folder of ``long_match`` matches, one per (home, away) pair."""
    matches, events = [], {}
    for n, (home, away) in enumerate(teams):
        matches.append(make_match(first_id + n, home, away))
        events[first_id + n] = long_match(home, away, seed=seed + n)
    return write_open_data(root, matches, events)
