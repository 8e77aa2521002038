"""A worker's Kafka calls that outlast a broker away: poll, publish until acknowledged, lag."""

from __future__ import annotations

import logging
from collections.abc import Callable

from inplay.live.batch import Message

__all__ = ["poll", "publish", "partition_lag"]

log = logging.getLogger(__name__)


def poll(consumer, limit: int, wait: Callable[[float], bool]) -> list:
    """One poll; a transient client error (the broker restarting) is logged, not raised.

    Args:
        consumer: A consumer client.
        limit: The largest batch to take.
        wait: Pauses after a failed poll (the worker's stop event's ``wait``).
    """
    from inplay.kafka.clients import transient_error

    try:
        return consumer.poll(max_records=limit, timeout=0.5)
    except Exception as exc:
        if not transient_error(exc):
            raise
        log.warning("poll failed, the client reconnects by itself: %s", exc)
        wait(0.5)
        return []


def publish(
    producer,
    messages: list[Message],
    on_failure: Callable[[], None],
    wait: Callable[[float], bool],
    also: Callable[[], object] | None = None,
) -> bool:
    """Send a batch's messages until the broker acknowledges all of them.

    A broker that is down or restarting makes a flush fail; the whole batch is then sent
    again (the idempotent producer and the (match_id, event index) key make any second copy
    harmless) with a growing pause, until it is acknowledged or the worker is stopped.

    Args:
        producer: A producer client.
        messages: (topic, key, value) of each message.
        on_failure: Called after each failed attempt (counts it, checks the topics: it may
            raise ``BrokerDataLost`` when they vanished).
        wait: Pauses between attempts; returns True when the worker was stopped meanwhile.
        also: Queues more messages after ``messages`` in each attempt (the state changelog).

    Returns:
        True once acknowledged; False if the worker was stopped first.
    """
    from inplay.kafka.clients.base import DeliveryError

    pause = 0.5
    while True:
        try:
            for topic, key, value in messages:
                producer.send(topic, key, value)
            if also is not None:
                also()
            producer.flush()
            return True
        except DeliveryError as exc:
            on_failure()
            log.warning("publishing failed, retrying in %.1f s: %s", pause, exc)
            if wait(pause):
                return False
            pause = min(pause * 2, 10.0)


def partition_lag(consumer, positions: dict[tuple[str, int], int]) -> dict[str, int]:
    """Consumer lag per partition (end offset - next offset to handle), by partition number.

    The end offsets are those of the latest fetches (:meth:`ConsumerClient.cached_end`): asking
    the broker would wait behind a fetch it holds open for new data, up to the fetch wait per
    partition, every few seconds, and every event arriving meanwhile would wait too. A
    partition no fetch has told about yet is left out. The embedded broker (Tansu 0.6) reports
    end offsets per record batch, which can put them behind the position; such a lag is 0.
    """
    lag = {}
    for tp, position in list(positions.items()):
        try:
            end = consumer.cached_end(tp)
        except Exception as exc:  # noqa: BLE001 - lag is informative; never stop scoring for it
            log.debug("lag of %s unavailable: %s", tp, exc)
            continue
        if end is not None:
            lag[str(tp[1])] = max(0, int(end - position))
    return lag
