"""Whether the broker lost the topics a worker uses (a restarted in-memory broker forgets them)."""

from __future__ import annotations

import logging
import time

__all__ = ["TopicGuard"]

log = logging.getLogger(__name__)


class TopicGuard:
    """Watches one worker's topics and broker over a run.

    Two signs that the broker lost the topics in use: the embedded broker (in memory) was
    restarted since this worker first saw it, or the events topic (or, when publishing failed,
    an output topic) existed earlier in this run and no longer does.

    Args:
        bootstrap: Kafka bootstrap servers (None: the configured broker).
        events_topic: The topic the worker consumes.
        output_topics: The topics it publishes to.
    """

    def __init__(self, bootstrap: str | None, events_topic: str, output_topics: list[str]):
        self.bootstrap = bootstrap
        self.events_topic = events_topic
        self.output_topics = output_topics
        self.reset()

    def reset(self) -> None:
        """Forget what was seen (a new run)."""
        self.topic_seen = False
        self.embedded: tuple[int, float] | None = None

    def check(self, consumer, also_outputs: bool = False) -> None:
        """Stop with a clear error when the broker lost the topics in use.

        Raises:
            BrokerDataLost: either sign (see the class).
        """
        from inplay.kafka.io import bootstrap_servers, lost_topics_error

        bootstrap = self.bootstrap or bootstrap_servers()
        self._check_identity(bootstrap)
        names = [self.events_topic, *(self.output_topics if also_outputs else [])]
        try:
            missing = [t for t in names if not consumer.topic_exists(t)]
        except Exception as exc:  # noqa: BLE001 - broker down: the client retries by itself
            log.debug("topic check failed: %s", exc)
            return
        if not missing:
            self.topic_seen = True
            return
        if self.topic_seen or also_outputs:
            if self.embedded is not None:
                self._wait_for_restart(bootstrap, missing)
            raise lost_topics_error(bootstrap, missing)

    def _check_identity(self, bootstrap: str) -> None:
        from inplay.kafka.io import embedded_identity, lost_topics_error

        identity = embedded_identity(bootstrap)
        if identity is None:
            return
        if self.embedded is None:
            self.embedded = identity
        elif identity != self.embedded:
            raise lost_topics_error(bootstrap, [], restarted_at=identity[1])

    def _wait_for_restart(self, bootstrap: str, missing: list[str]) -> None:
        """A restarting embedded broker answers before it writes its state file: wait 3 s."""
        from inplay.kafka.io import embedded_identity, lost_topics_error

        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            identity = embedded_identity(bootstrap)
            if identity is not None and identity != self.embedded:
                raise lost_topics_error(bootstrap, missing, restarted_at=identity[1])
            time.sleep(0.2)
