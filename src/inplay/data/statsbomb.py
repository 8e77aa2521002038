"""Reading, checking and fetching StatsBomb Open Data.

The folder layout is the one of ``statsbomb/open-data/data/``::

    competitions.json
    matches/<competition_id>/<season_id>.json
    events/<match_id>.json        (or events/<match_id>.json.gz)
    lineups/<match_id>.json[.gz]

:class:`StatsBombData` reads such a folder, :func:`validate` checks it, :func:`download`
fetches one competition season from StatsBomb's public repository, and :func:`ensure_data`
returns a reader for the configured folder (downloading when it is missing).

Data: StatsBomb Open Data (https://github.com/statsbomb/open-data). Anything published from
it must credit StatsBomb as the data source.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import urllib.error
import urllib.request
import warnings
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
from tqdm.auto import tqdm

from inplay import config
from inplay.config import ConfigError
from inplay.errors import DataError

__all__ = [
    "DEFAULT_OPENDATA_URL",
    "DataFileError",
    "DataWarning",
    "Match",
    "StatsBombData",
    "ValidationReport",
    "download",
    "ensure_data",
    "shared_data_dir",
    "validate",
]

DEFAULT_OPENDATA_URL = "https://raw.githubusercontent.com/statsbomb/open-data/master/data"
"""Where :func:`download` fetches from unless ``INPLAY_OPENDATA_URL`` or an argument says so."""

_HOW_TO_GET_DATA = (
    "Set INPLAY_DATA_DIR to a folder with StatsBomb open data (the data/ folder of a clone of "
    "https://github.com/statsbomb/open-data, holding competitions.json, matches/ and events/), "
    "or run `inplay data download` to fetch one competition into data/raw/statsbomb."
)

_REQUIRED_EVENT_FIELDS: tuple[str, ...] = (
    "id",
    "index",
    "period",
    "timestamp",
    "type.name",
    "team.name",
)


class DataFileError(DataError, ValueError):
    """A data file is missing, unreadable, corrupt or not shaped as expected.

    Attributes:
        path: The file concerned.
        reason: What is wrong with it.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path: Path | str = path if isinstance(path, Path) or "://" in path else Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.reason))


class DataWarning(UserWarning):
    """A data file was skipped; the message names it."""


@dataclass(frozen=True)
class Match:
    """One match as listed in ``matches/<competition_id>/<season_id>.json``.

    Attributes:
        match_id: StatsBomb match id.
        competition_id: StatsBomb competition id.
        season_id: StatsBomb season id.
        competition: Competition name, e.g. ``"FIFA World Cup"``.
        season: Season name, e.g. ``"2022"`` or ``"2018/2019"``.
        match_date: Date as ``YYYY-MM-DD``.
        kick_off: Kick-off time as ``HH:MM:SS.mmm`` (``None`` when not listed).
        home_team: Home team name as in the match list.
        away_team: Away team name as in the match list.
        home_team_id: Home team id.
        away_team_id: Away team id.
        home_score: Listed home goals (including extra time, excluding shoot-outs).
        away_score: Listed away goals (including extra time, excluding shoot-outs).
        competition_stage: Stage name, e.g. ``"Group Stage"`` or ``"Final"``.
    """

    match_id: int
    competition_id: int
    season_id: int
    competition: str
    season: str
    match_date: str
    kick_off: str | None
    home_team: str
    away_team: str
    home_team_id: int
    away_team_id: int
    home_score: int
    away_score: int
    competition_stage: str | None

    @classmethod
    def from_statsbomb(cls, raw: dict[str, Any]) -> Match:
        """Build a match from one entry of a StatsBomb match list.

        Args:
            raw: One object of ``matches/<competition_id>/<season_id>.json``.

        Returns:
            The match.

        Raises:
            KeyError: a required field is missing.
        """
        competition = raw["competition"]
        season = raw["season"]
        home = raw["home_team"]
        away = raw["away_team"]
        stage = raw.get("competition_stage")
        return cls(
            match_id=int(raw["match_id"]),
            competition_id=int(competition["competition_id"]),
            season_id=int(season["season_id"]),
            competition=str(competition.get("competition_name", "")),
            season=str(season.get("season_name", "")),
            match_date=str(raw["match_date"]),
            kick_off=raw.get("kick_off"),
            home_team=str(home["home_team_name"]),
            away_team=str(away["away_team_name"]),
            home_team_id=int(home["home_team_id"]),
            away_team_id=int(away["away_team_id"]),
            home_score=int(raw["home_score"]),
            away_score=int(raw["away_score"]),
            competition_stage=stage.get("name") if isinstance(stage, dict) else stage,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the match as a plain dict (field name to value)."""
        return asdict(self)

    @property
    def sort_key(self) -> tuple[str, str, int]:
        """The key matches are ordered by: date, kick-off, match id."""
        return (self.match_date, self.kick_off or "", self.match_id)


def _read_json_bytes(path: Path) -> Any:
    """Read a ``.json`` or ``.json.gz`` file and parse it with orjson.

    Raises:
        DataFileError: the file cannot be read, decompressed or parsed.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(path, "file not found") from None
    except OSError as exc:
        raise DataFileError(path, f"cannot read file ({exc.strerror or exc})") from None
    if path.name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataFileError(path, f"corrupt gzip file ({exc})") from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DataFileError(path, f"invalid JSON ({exc})") from None


def _missing_dir_error(root: Path, what: str) -> ConfigError:
    return ConfigError(f"No StatsBomb open data at {root} ({what}). {_HOW_TO_GET_DATA}")


class StatsBombData:
    """Reader for a StatsBomb open-data folder.

    Args:
        root: The folder holding ``competitions.json``, ``matches/`` and ``events/``.
            Defaults to :func:`inplay.config.statsbomb_dir` (``INPLAY_DATA_DIR`` or
            ``data/raw/statsbomb``).

    Attributes:
        root: The data folder.
        bad_files: ``(path, reason)`` of every events file :meth:`iter_events` skipped.

    Raises:
        ConfigError: the folder does not exist or has no ``competitions.json``. The message
            names ``INPLAY_DATA_DIR`` and says how to get data.
    """

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else config.statsbomb_dir()
        if not self.root.is_dir():
            raise _missing_dir_error(self.root, "folder does not exist")
        if not (self.root / "competitions.json").is_file():
            raise _missing_dir_error(self.root, "no competitions.json")
        self.bad_files: list[tuple[Path, str]] = []
        self._warned: set[Path] = set()
        self._matches: dict[int, Match] | None = None

    def __repr__(self) -> str:
        return f"StatsBombData({str(self.root)!r})"

    # -- listings ---------------------------------------------------------------------------

    def competitions(self) -> pd.DataFrame:
        """Return ``competitions.json`` as a DataFrame, one row per competition season.

        Raises:
            DataFileError: ``competitions.json`` is corrupt or not a JSON array.
        """
        path = self.root / "competitions.json"
        rows = _read_json_bytes(path)
        if not isinstance(rows, list):
            raise DataFileError(path, "not a JSON array")
        return pd.DataFrame(rows)

    def _load_matches(self) -> dict[int, Match]:
        if self._matches is None:
            found: dict[int, Match] = {}
            matches_dir = self.root / "matches"
            files = sorted(matches_dir.glob("*/*.json")) if matches_dir.is_dir() else []
            for path in files:
                raw = _read_json_bytes(path)
                if not isinstance(raw, list):
                    raise DataFileError(path, "not a JSON array")
                for entry in raw:
                    try:
                        match = Match.from_statsbomb(entry)
                    except (KeyError, TypeError, ValueError, AttributeError) as exc:
                        raise DataFileError(path, f"malformed match entry ({exc!r})") from None
                    found[match.match_id] = match
            self._matches = found
        return self._matches

    def matches(
        self,
        competition_ids: Iterable[int] | int | None = None,
        season_ids: Iterable[int] | int | None = None,
        match_ids: Iterable[int] | int | None = None,
    ) -> list[Match]:
        """List the matches of the match lists, optionally filtered.

        Args:
            competition_ids: Keep only these competitions (``None``: all).
            season_ids: Keep only these seasons (``None``: all).
            match_ids: Keep only these matches (``None``: all).

        Returns:
            The matches, sorted by date, kick-off and match id.

        Raises:
            DataFileError: a match list is corrupt.
        """
        comps = _id_set(competition_ids)
        seasons = _id_set(season_ids)
        ids = _id_set(match_ids)
        selected = [
            m
            for m in self._load_matches().values()
            if (comps is None or m.competition_id in comps)
            and (seasons is None or m.season_id in seasons)
            and (ids is None or m.match_id in ids)
        ]
        return sorted(selected, key=lambda m: m.sort_key)

    def match(self, match_id: int) -> Match:
        """Return one listed match.

        Raises:
            KeyError: no match list has this match.
        """
        try:
            return self._load_matches()[int(match_id)]
        except KeyError:
            raise KeyError(f"match {match_id} is not in any match list under {self.root}") from None

    # -- events -----------------------------------------------------------------------------

    def events_path(self, match_id: int) -> Path:
        """Return the events file of a match: ``.json`` if present, else ``.json.gz``.

        When neither exists, the ``.json.gz`` path is returned (it does not exist).
        """
        plain = self.root / "events" / f"{int(match_id)}.json"
        if plain.is_file():
            return plain
        return self.root / "events" / f"{int(match_id)}.json.gz"

    def events(self, match_id: int) -> list[dict[str, Any]]:
        """Read the events of one match.

        Args:
            match_id: The match.

        Returns:
            The event dicts, in file order.

        Raises:
            DataFileError: the file is missing, unreadable, corrupt or not a JSON array.
        """
        path = self.events_path(match_id)
        if not path.is_file():
            mid = int(match_id)
            raise DataFileError(path, f"no events file (looked for {mid}.json and {mid}.json.gz)")
        events = _read_json_bytes(path)
        if not isinstance(events, list):
            raise DataFileError(path, f"not a JSON array (found {type(events).__name__})")
        return events

    def iter_events(
        self, matches: Iterable[Match] | None = None, progress: bool = True
    ) -> Iterator[tuple[Match, list[dict[str, Any]]]]:
        """Yield ``(match, events)`` for each match, skipping bad events files.

        A skipped file is added to :attr:`bad_files` and warned about once (a
        :class:`DataWarning` naming the file).

        Args:
            matches: The matches (default: all listed matches).
            progress: Show a tqdm progress bar.

        Yields:
            ``(match, events)`` pairs, in the order of ``matches``.
        """
        todo = list(matches) if matches is not None else self.matches()
        bar = tqdm(
            todo,
            desc="events",
            unit="match",
            disable=not config.show_progress(progress),
            leave=False,
        )
        try:
            for match in bar:
                try:
                    events = self.events(match.match_id)
                except DataFileError as exc:
                    self._note_bad(Path(exc.path), exc.reason)
                    continue
                yield match, events
        finally:
            bar.close()

    def _note_bad(self, path: Path, reason: str) -> None:
        if path in self._warned:
            return
        self._warned.add(path)
        self.bad_files.append((path, reason))
        warnings.warn(f"skipping {path}: {reason}", DataWarning, stacklevel=3)


def _id_set(ids: Iterable[int] | int | None) -> set[int] | None:
    if ids is None:
        return None
    if isinstance(ids, int | str):
        return {int(ids)}
    return {int(i) for i in ids}


# -- validation -----------------------------------------------------------------------------


@dataclass
class ValidationReport:
    """What :func:`validate` found.

    Attributes:
        checked: Number of matches checked.
        ok: Number of matches without problems.
        problems: ``(match_id, path, reason)`` for each problem found.
    """

    checked: int = 0
    ok: int = 0
    problems: list[tuple[int, Path, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether no problems were found."""
        return not self.problems

    def summary(self) -> str:
        """Return a short text report: counts, then one line per problem."""
        bad = len({match_id for match_id, _, _ in self.problems})
        lines = [
            f"checked {self.checked} matches: {self.ok} ok, {bad} with problems "
            f"({len(self.problems)} problems)"
        ]
        lines += [f"  match {mid}: {path}: {reason}" for mid, path, reason in self.problems]
        return "\n".join(lines)


def _get_path(event: dict[str, Any], dotted: str) -> Any:
    value: Any = event
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


@dataclass
class _EventTally:
    """What :func:`_check_events` counts over one match's events.

    Attributes:
        teams: The home and away team names.
        missing: Events lacking each required field (``"<object>"``: not a JSON object).
        first_missing: Position of the first event lacking each field.
        foreign: Events per team name that is neither home nor away.
        indices: Events per ``index`` value.
    """

    teams: set[str]
    missing: Counter[str] = field(default_factory=Counter)
    first_missing: dict[str, int] = field(default_factory=dict)
    foreign: Counter[str] = field(default_factory=Counter)
    indices: Counter[Any] = field(default_factory=Counter)

    def _lacks(self, name: str, position: int) -> None:
        self.missing[name] += 1
        self.first_missing.setdefault(name, position)

    def add(self, position: int, event: Any) -> None:
        """Count the event at ``position`` of the events array."""
        if not isinstance(event, dict):
            self._lacks("<object>", position)
            return
        for name in _REQUIRED_EVENT_FIELDS:
            if _get_path(event, name) is None:
                self._lacks(name, position)
        team = _get_path(event, "team.name")
        if team is not None and team not in self.teams:
            self.foreign[str(team)] += 1
        if "index" in event:
            self.indices[event["index"]] += 1

    def duplicate_indices(self) -> list[Any]:
        """The ``index`` values held by more than one event, sorted by their text."""
        return sorted((i for i, n in self.indices.items() if n > 1), key=str)


def _check_events(match: Match, events: Any) -> list[str]:
    """Return the problems of one match's parsed events (empty when fine)."""
    if not isinstance(events, list):
        return [f"not a JSON array (found {type(events).__name__})"]
    if not events:
        return ["empty events array"]
    tally = _EventTally(teams={match.home_team, match.away_team})
    for position, event in enumerate(events):
        tally.add(position, event)
    problems: list[str] = []
    for name, count in tally.missing.items():
        what = "are not JSON objects" if name == "<object>" else f"lack '{name}'"
        problems.append(f"{count} events {what} (first at position {tally.first_missing[name]})")
    for team, count in tally.foreign.items():
        problems.append(
            f"{count} events have team '{team}', which is neither home "
            f"'{match.home_team}' nor away '{match.away_team}'"
        )
    duplicates = tally.duplicate_indices()
    if duplicates:
        shown = ", ".join(str(i) for i in duplicates[:5])
        more = "" if len(duplicates) <= 5 else f", ... ({len(duplicates)} in all)"
        problems.append(f"duplicate event index: {shown}{more}")
    return problems


def validate(
    data: StatsBombData, match_ids: Iterable[int] | None = None, progress: bool = True
) -> ValidationReport:
    """Check the events files of listed matches; keep going past bad files.

    Per match: the events file exists and parses as a non-empty JSON array; each event has
    ``id``, ``index``, ``period``, ``timestamp``, ``type.name`` and ``team.name``; every team
    name is the match's home or away team; ``index`` values are unique.

    Args:
        data: The data folder reader.
        match_ids: Matches to check (default: all listed). Ids not in any match list are
            reported as problems.
        progress: Show a tqdm progress bar.

    Returns:
        The report; each problem names the match and the file.
    """
    report = ValidationReport()
    if match_ids is None:
        matches = data.matches()
    else:
        wanted = [int(i) for i in match_ids]
        matches = data.matches(match_ids=wanted)
        listed = {m.match_id for m in matches}
        for mid in wanted:
            if mid not in listed:
                report.checked += 1
                report.problems.append(
                    (mid, data.root / "matches", "match is not in any match list")
                )
    for match in tqdm(
        matches,
        desc="validate",
        unit="match",
        disable=not config.show_progress(progress),
        leave=False,
    ):
        report.checked += 1
        path = data.events_path(match.match_id)
        try:
            events = data.events(match.match_id)
        except DataFileError as exc:
            report.problems.append((match.match_id, Path(exc.path), exc.reason))
            continue
        problems = _check_events(match, events)
        report.problems.extend((match.match_id, path, p) for p in problems)
        if not problems:
            report.ok += 1
    return report


# -- download -------------------------------------------------------------------------------


def _no_network_error(url: str, exc: BaseException) -> ConfigError:
    return ConfigError(
        f"Cannot fetch StatsBomb open data from {url}: no network or data source reachable "
        f"({exc}). To get data, set INPLAY_DATA_DIR to a folder with StatsBomb open data "
        "(e.g. the data/ folder of a clone of https://github.com/statsbomb/open-data), or "
        "connect to the internet and retry (the base URL can be changed with "
        "INPLAY_OPENDATA_URL)."
    )


def _fetch(url: str, dest: Path, timeout: float) -> None:
    """Fetch ``url`` into ``dest`` atomically (temp file then rename) and check it is JSON.

    Raises:
        ConfigError: the network or server failed.
        DataFileError: the server answered with something that is not JSON.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
        except urllib.error.HTTPError as exc:
            raise ConfigError(
                f"Cannot fetch {url}: HTTP {exc.code} {exc.reason}. Check the competition and "
                f"season ids and the base URL (INPLAY_OPENDATA_URL), or set INPLAY_DATA_DIR to "
                f"a folder with StatsBomb open data."
            ) from None
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            raise _no_network_error(url, exc) from None
        try:
            orjson.loads(tmp.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise DataFileError(url, f"downloaded file is not valid JSON ({exc})") from None
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def download(
    dest: Path | str | None = None,
    competition_id: int = 43,
    season_id: int = 106,
    base_url: str | None = None,
    progress: bool = True,
    max_matches: int | None = None,
    timeout: float = 30.0,
) -> Path:
    """Fetch one competition season of StatsBomb open data, with a file cache.

    Downloads ``competitions.json``, ``matches/<competition_id>/<season_id>.json`` and
    ``events/<match_id>.json`` for each match of that season. Files already present (events
    also as ``.json.gz``) are not fetched again. Each file is written to a temporary name and
    renamed when complete, so interrupted downloads never leave partial files.

    Args:
        dest: Target folder (default ``data/raw/statsbomb``).
        competition_id: StatsBomb competition id (default 43, FIFA World Cup).
        season_id: StatsBomb season id (default 106, 2022).
        base_url: URL of the ``data`` folder of the open-data repository. Default:
            ``INPLAY_OPENDATA_URL`` or :data:`DEFAULT_OPENDATA_URL`.
        progress: Show a tqdm progress bar.
        max_matches: Fetch events of at most this many matches (in match-list order).
        timeout: Seconds to wait for each connection.

    Returns:
        The target folder.

    Raises:
        ConfigError: no network, or the server does not have the files. The message says
            how to get data instead.
        DataFileError: a downloaded file is not JSON.
    """
    root = Path(dest).expanduser() if dest is not None else config.RAW_DIR / "statsbomb"
    base = (base_url or config.env_str("INPLAY_OPENDATA_URL") or DEFAULT_OPENDATA_URL).rstrip("/")
    root.mkdir(parents=True, exist_ok=True)
    ids = _fetch_match_list(root, base, competition_id, season_id, timeout)
    if max_matches is not None:
        ids = ids[: max(0, int(max_matches))]
    desc = f"download {competition_id}/{season_id}"
    _fetch_events(root, base, ids, timeout, desc, progress)
    return root


def _fetch_match_list(
    root: Path, base: str, competition_id: int, season_id: int, timeout: float
) -> list[int]:
    """Fetch ``competitions.json`` and the season's match list unless cached; the match ids.

    Raises:
        ConfigError: a file could not be fetched.
        DataFileError: the match list is not a JSON array.
    """
    comps = root / "competitions.json"
    if not comps.is_file():
        _fetch(f"{base}/competitions.json", comps, timeout)
    match_rel = f"matches/{int(competition_id)}/{int(season_id)}.json"
    match_file = root / match_rel
    if not match_file.is_file():
        _fetch(f"{base}/{match_rel}", match_file, timeout)
    listed = _read_json_bytes(match_file)
    if not isinstance(listed, list):
        raise DataFileError(match_file, "not a JSON array")
    return [int(m["match_id"]) for m in listed if isinstance(m, dict) and "match_id" in m]


def _fetch_events(
    root: Path, base: str, ids: list[int], timeout: float, desc: str, progress: bool
) -> None:
    """Fetch ``events/<match_id>.json`` of each match not cached yet (also as ``.json.gz``)."""
    events_dir = root / "events"
    fetched = 0
    bar = tqdm(ids, desc=desc, unit="match", disable=not config.show_progress(progress))
    try:
        for match_id in bar:
            plain = events_dir / f"{match_id}.json"
            if plain.is_file() or (events_dir / f"{match_id}.json.gz").is_file():
                continue
            _fetch(f"{base}/events/{match_id}.json", plain, timeout)
            fetched += 1
            bar.set_postfix(fetched=fetched)
    finally:
        bar.close()


def ensure_data(download_if_missing: bool = True) -> StatsBombData:
    """Return a reader for the configured StatsBomb folder, downloading it when missing.

    With ``INPLAY_DATA_DIR`` set, that folder is used as is. Otherwise
    ``data/raw/statsbomb`` is used, and when it has no ``competitions.json`` and
    ``download_if_missing`` is true, :func:`download` fetches the default competition.

    Args:
        download_if_missing: Whether to download when ``data/raw/statsbomb`` is empty.

    Returns:
        The reader.

    Raises:
        ConfigError: the folder is missing (and not downloaded), or the download failed.
    """
    if config.env_str("INPLAY_DATA_DIR"):
        return StatsBombData(config.statsbomb_dir())
    root = config.RAW_DIR / "statsbomb"
    if not (root / "competitions.json").is_file() and download_if_missing:
        download(root)
    return StatsBombData(root)


def shared_data_dir() -> Path | None:
    """Return the real StatsBomb data folder for tests and benchmarks, if there is one.

    Returns:
        ``INPLAY_DATA_DIR`` if set and existing, else ``<project root>/../shared/data/statsbomb``
        if it exists, else ``None``.
    """
    env = config.env_str("INPLAY_DATA_DIR")
    if env:
        path = Path(env).expanduser().resolve()
        if path.is_dir():
            return path
    shared = config.PROJECT_ROOT.parent / "shared" / "data" / "statsbomb"
    return shared if shared.is_dir() else None
