"""The model registry: versions of inplay's registered model in MLflow and its champion.

A version's source is the artifact folder ``model`` of the run that fitted it
(:func:`inplay.mlops.tracking.log_fit`): ``model.pkl``, ``model_card.json`` and
``train_matches.json``. The alias ``champion`` names the version the live scorer should use.
:class:`Registry` is a narrow layer over ``mlflow.MlflowClient``: every failure of the store
surfaces as :class:`RegistryUnavailable`, an unknown version as
:class:`~inplay.errors.ModelError`, and "no champion yet" as None.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from inplay import config
from inplay.errors import InplayError, ModelError
from inplay.mlops.tracking import tracking_uri

if TYPE_CHECKING:
    from inplay.models import OutcomeModel

__all__ = [
    "CHAMPION",
    "MODEL_ARTIFACT",
    "TRAIN_MATCHES_FILE",
    "RegistryUnavailable",
    "ChampionInfo",
    "store_errors",
    "Registry",
]

CHAMPION = "champion"
MODEL_ARTIFACT = "model"
TRAIN_MATCHES_FILE = "train_matches.json"
_NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST",)
_NO_ALIAS = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


class RegistryUnavailable(InplayError):
    """The MLflow tracking store / model registry cannot be reached or refused a request."""


@dataclass(frozen=True)
class ChampionInfo:
    """One version of the registered model (the champion, or any of :meth:`Registry.versions`).

    Attributes:
        version: The registry's version number.
        inplay_version: The model's own version (``<name>-<time>-<hash>``), from its tag.
        model_name: The inplay model name (``goal_rate`` ...), from its tag.
        run_id: The MLflow run that fitted it.
        source: The artifact URI of its model folder.
        aliases: Its aliases (``("champion",)`` for the champion).
    """

    version: int
    inplay_version: str | None
    model_name: str | None
    run_id: str | None
    source: str
    aliases: tuple[str, ...] = ()

    @classmethod
    def from_model_version(cls, mv: Any) -> ChampionInfo:
        """Build it from an ``mlflow.entities.model_registry.ModelVersion``."""
        tags = dict(mv.tags or {})
        return cls(
            version=int(mv.version),
            inplay_version=tags.get("inplay_version") or None,
            model_name=tags.get("model_name") or None,
            run_id=mv.run_id or None,
            source=str(mv.source),
            aliases=tuple(getattr(mv, "aliases", None) or ()),
        )


def _code(exc: BaseException) -> str | None:
    return getattr(exc, "error_code", None)


@contextmanager
def store_errors(uri: str, action: str) -> Iterator[None]:
    """Turn a failure of the MLflow store at ``uri`` into :class:`RegistryUnavailable`.

    Args:
        uri: The store's URI (named in the message).
        action: What was being done, e.g. ``"read the champion"``.
    """
    from mlflow.exceptions import MlflowException

    try:
        yield
    except (MlflowException, OSError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise RegistryUnavailable(
            f"the MLflow store {uri} could not {action}: {detail}. Check MLFLOW_TRACKING_URI "
            f"(unset: the SQLite file under {config.MLFLOW_DIR}) and that the server is up."
        ) from exc


class Registry:
    """inplay's registered model in one MLflow store.

    Args:
        uri: The tracking / registry store (default :func:`~inplay.mlops.tracking.tracking_uri`).
        name: The registered model (default ``INPLAY_REGISTERED_MODEL``, ``inplay``).
    """

    def __init__(self, uri: str | None = None, name: str | None = None) -> None:
        self.uri = uri or tracking_uri()
        self.name = name or config.env_str("INPLAY_REGISTERED_MODEL", "inplay") or "inplay"
        self._client: Any = None

    def __repr__(self) -> str:
        return f"Registry(uri={self.uri!r}, name={self.name!r})"

    def exists(self) -> bool:
        """False for a SQLite store whose file is not there yet (nothing registered, ever)."""
        parsed = urlparse(self.uri)
        if parsed.scheme != "sqlite":
            return True
        return Path(self.uri.split("sqlite:///", 1)[-1]).is_file()

    @property
    def client(self) -> Any:
        """The ``mlflow.MlflowClient`` of the store (created on first use)."""
        if self._client is None:
            import logging

            from mlflow import MlflowClient

            for name in ("mlflow.store.db.utils", "alembic"):  # table set-up chatter on stderr
                logging.getLogger(name).setLevel(logging.WARNING)

            self._client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client

    def register(
        self,
        model_dir: str | Path,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> int:
        """Register a model folder as a new version (the registered model is created once).

        Args:
            model_dir: The folder's artifact URI (e.g. ``<run artifact URI>/model``) or a local
                path (registered as its ``file://`` URI, so it must not change afterwards).
            run_id: The run that produced it.
            tags: Version tags (``inplay_version``, ``model_name`` ...); values become strings.

        Returns:
            The new version number.
        """
        from mlflow.exceptions import MlflowException

        source = str(model_dir)
        if isinstance(model_dir, Path) or len(urlparse(source).scheme) < 2:
            source = Path(model_dir).resolve().as_uri()
        with store_errors(self.uri, f"register a version of {self.name!r}"):
            try:
                self.client.create_registered_model(self.name)
            except MlflowException as exc:
                if _code(exc) != "RESOURCE_ALREADY_EXISTS":
                    raise
            version = self.client.create_model_version(
                self.name,
                source,
                run_id=run_id,
                tags={k: str(v) for k, v in (tags or {}).items()},
            )
        return int(version.version)

    def champion(self) -> ChampionInfo | None:
        """The version with the alias ``champion``, or None when there is none yet."""
        from mlflow.exceptions import MlflowException

        with store_errors(self.uri, f"read the champion of {self.name!r}"):
            try:
                mv = self.client.get_model_version_by_alias(self.name, CHAMPION)
            except MlflowException as exc:
                if _code(exc) in _NO_ALIAS:
                    return None
                raise
        return ChampionInfo.from_model_version(mv)

    def set_champion(self, version: int) -> None:
        """Give ``version`` the alias ``champion`` (taking it from the previous one).

        Raises:
            ModelError: There is no such version.
        """
        self.info(version)
        with store_errors(self.uri, f"set the champion of {self.name!r}"):
            self.client.set_registered_model_alias(self.name, CHAMPION, str(int(version)))

    def info(self, version: int | None = None) -> ChampionInfo:
        """One version (None: the champion).

        Raises:
            ModelError: There is no such version, or no champion yet.
        """
        from mlflow.exceptions import MlflowException

        if version is None:
            found = self.champion()
            if found is None:
                raise ModelError(
                    f"registered model {self.name!r} in {self.uri} has no champion yet: run "
                    "`inplay fit` (without --no-promote)."
                )
            return found
        with store_errors(self.uri, f"read version {version} of {self.name!r}"):
            try:
                mv = self.client.get_model_version(self.name, str(int(version)))
            except MlflowException as exc:
                if _code(exc) in _NOT_FOUND:
                    raise ModelError(
                        f"registered model {self.name!r} in {self.uri} has no version {version}"
                    ) from None
                raise
        return ChampionInfo.from_model_version(mv)

    def versions(self) -> list[ChampionInfo]:
        """Every version of the registered model with its aliases, oldest first (none: [])."""
        from mlflow.exceptions import MlflowException

        with store_errors(self.uri, f"list the versions of {self.name!r}"):
            try:
                model = self.client.get_registered_model(self.name)
            except MlflowException as exc:
                if _code(exc) in _NOT_FOUND:
                    return []
                raise
            found = self.client.search_model_versions(f"name = '{self.name}'")
        aliases: dict[int, tuple[str, ...]] = {}
        for alias, version in (model.aliases or {}).items():  # search leaves them out
            aliases[int(version)] = (*aliases.get(int(version), ()), alias)
        infos = (ChampionInfo.from_model_version(mv) for mv in found)
        return sorted(
            (replace(i, aliases=tuple(sorted(aliases.get(i.version, ())))) for i in infos),
            key=_by_version,
        )

    def download(self, version: int | None = None) -> Path:
        """The model folder of ``version`` (None: the champion), downloaded once.

        Versions never change, so each is kept under ``<config.MLFLOW_DIR>/downloads/``
        (named after the model, the version and a hash of the store, model and source); a
        download lands in a temporary folder first and is renamed into place whole.

        Returns:
            The local folder (``model.pkl``, ``model_card.json``, ``train_matches.json``).

        Raises:
            ModelError: No such version, or no champion yet.
        """
        from mlflow.artifacts import download_artifacts

        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # logs stay quiet

        info = self.info(version)
        key = hashlib.sha256(f"{self.uri}\n{self.name}\n{info.source}".encode()).hexdigest()
        target = config.MLFLOW_DIR / "downloads" / f"{self.name}-v{info.version}-{key[:12]}"
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as tmp:
            with store_errors(self.uri, f"download version {info.version} of {self.name!r}"):
                path = download_artifacts(
                    artifact_uri=info.source, dst_path=tmp, tracking_uri=self.uri
                )
            try:
                os.replace(path, target)
            except OSError:
                if not target.is_dir():  # else another process put it there first
                    raise
        return target

    def load(self, version: int | None = None) -> OutcomeModel:
        """The model of ``version`` (None: the champion), via :func:`inplay.models.load_model`.

        Raises:
            ModelError: No such version (or no champion), or its folder holds no model.
        """
        from inplay.models import load_model

        folder = self.download(version)
        try:
            return load_model(folder)
        except config.ConfigError as exc:
            raise ModelError(f"{folder.name} of {self.name!r} in {self.uri}: {exc}") from exc

    def train_match_ids(self, version: int | None = None) -> list[int]:
        """The sorted ids of the matches ``version`` (None: the champion) was fitted on.

        Raises:
            ModelError: No such version (or no champion), or it has no ``train_matches.json``.
        """
        path = self.download(version) / TRAIN_MATCHES_FILE
        if not path.is_file():
            raise ModelError(f"{path.parent.name} of {self.name!r} has no {TRAIN_MATCHES_FILE}")
        return sorted(int(m) for m in json.loads(path.read_text()))


def _by_version(info: ChampionInfo) -> int:
    return info.version
