"""The live demo in one command: broker, topics, replay, scorer and dashboard.

``python -m inplay.dashboard.run --speed 30`` (what ``make dashboard`` runs):

1. finds the broker (``KAFKA_BOOTSTRAP_SERVERS``) or starts the embedded one;
2. creates the six topics (idempotent);
3. loads the fitted model from ``models/`` (run ``inplay fit`` or ``make demo`` first);
4. starts the scorer (a :class:`~inplay.live.scorer.Scorer` in a thread, group ``inplay-scorer``);
5. starts a replay of the demo matches at ``--speed`` times real time (a thread);
6. starts the Streamlit app and prints its URL;

and stops everything on Ctrl-C (the embedded broker too, if this command started it). With
``--screenshot PATH`` it saves a screenshot of the page (headless Chromium via Playwright) after
``--screenshot-after`` seconds, and ``--exit-after-screenshot`` then stops.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time

from inplay import config
from inplay.dashboard import AppSettings, launch, wait_until_ready

__all__ = ["add_arguments", "run", "main"]


class _Stopped(Exception):
    """Raised inside the replay thread to end it early."""


class _StoppableProducer:
    """A producer wrapper whose ``send`` raises once ``stop`` is set (ends a replay early)."""

    def __init__(self, producer, stop: threading.Event) -> None:
        self._producer = producer
        self._stop = stop

    def send(self, *args, **kwargs):
        """Send, unless the replay was asked to stop."""
        if self._stop.is_set():
            raise _Stopped
        return self._producer.send(*args, **kwargs)

    def flush(self, *args, **kwargs):
        """Flush the wrapped producer."""
        return self._producer.flush(*args, **kwargs)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the runner's options to ``parser`` (also used by ``inplay dashboard``)."""
    parser.add_argument(
        "--speed",
        type=float,
        default=30.0,
        help="replay speed, N x real time (default 30: a match in about 3-5 minutes)",
    )
    parser.add_argument(
        "--match-ids",
        metavar="IDS",
        help="matches to replay, comma separated (default: the four demo matches)",
    )
    parser.add_argument("--stagger", type=float, default=0.0, help="seconds between kick-offs")
    parser.add_argument("--model", help="model name under models/ or a path (default: selected)")
    parser.add_argument("--port", type=int, default=8501, help="dashboard port (default 8501)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (0.0.0.0 in a container)"
    )
    parser.add_argument(
        "--refresh", type=float, default=2.0, help="page refresh in seconds (default 2)"
    )
    parser.add_argument(
        "--no-replay", dest="replay", action="store_false", help="do not start a replay"
    )
    parser.add_argument(
        "--no-score", dest="score", action="store_false", help="do not start a scorer"
    )
    parser.add_argument(
        "--app-only",
        action="store_true",
        help="only the dashboard: no broker start, topics, replay or scorer",
    )
    parser.add_argument(
        "--all-history",
        action="store_true",
        help="also show predictions made before this run (default: only this run's)",
    )
    parser.add_argument(
        "--keep-broker",
        action="store_true",
        help="leave an embedded broker started by this command running at the end",
    )
    parser.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the page")
    parser.add_argument(
        "--screenshot-after",
        type=float,
        default=60.0,
        help="seconds after the start to take the screenshot (default 60)",
    )
    parser.add_argument(
        "--screenshot-match", type=int, help="match to show in the screenshot (default: first)"
    )
    parser.add_argument(
        "--exit-after-screenshot", action="store_true", help="stop once the screenshot is saved"
    )
    return parser


def _say(text: str) -> None:
    print(f"[dashboard] {text}", flush=True)


class _Demo:
    """The parts of a running demo (broker, scorer, replay, app), and how to stop them."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.started_at = time.time()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.scorer = None
        self.app = None
        self.url = ""
        self.own_broker = False
        self.bootstrap: str | None = config.env_str("KAFKA_BOOTSTRAP_SERVERS")

    def start_kafka(self) -> None:
        """Find or start the broker and create the topics."""
        from inplay.brokers import embedded as broker
        from inplay.kafka import io as kafka_io
        from inplay.kafka import topics

        self.own_broker = self.bootstrap is None and broker.status() is None
        self.bootstrap = kafka_io.ensure_broker()
        started = " (embedded broker started)" if self.own_broker else ""
        _say(f"Kafka at {self.bootstrap}{started}")
        created = topics.create_topics(self.bootstrap)
        _say(f"topics: {sum(v == 'created' for v in created.values())} created")

    def start_scorer(self, model) -> None:
        """Run a :class:`~inplay.live.scorer.Scorer` of ``model`` in a thread."""
        from inplay.live.scorer import Scorer

        self.scorer = Scorer(model, bootstrap=self.bootstrap, stats_interval=2.0)
        _say(f"scorer: model {self.scorer.model_version}, group {self.scorer.group_id}")
        thread = threading.Thread(
            target=self.scorer.run, kwargs={"progress": False}, name="scorer", daemon=True
        )
        thread.start()
        self.threads.append(thread)

    def start_app(self) -> None:
        """Launch the Streamlit app and wait until it answers."""
        args = self.args
        settings = AppSettings(
            bootstrap=self.bootstrap,
            refresh=args.refresh,
            since=None if args.all_history or args.app_only else self.started_at,
        )
        self.app = launch(args.port, args.host, settings)
        shown = "localhost" if args.host in {"0.0.0.0", "::"} else args.host
        self.url = f"http://{shown}:{args.port}"
        wait_until_ready(self.url, timeout=60, proc=self.app)
        _say(f"dashboard at {self.url}  (Ctrl-C stops everything)")

    def screenshot(self) -> None:
        """Save the screenshot of ``--screenshot`` once ``--screenshot-after`` s have passed."""
        from inplay.dashboard.browser import screenshot

        args = self.args
        time.sleep(max(0.0, self.started_at + args.screenshot_after - time.time()))
        match = f"/?match={args.screenshot_match}" if args.screenshot_match else ""
        path = screenshot(self.url + match, args.screenshot)
        _say(f"screenshot saved to {path}")

    def wait(self) -> int:
        """Wait until stopped (0) or until the app exits by itself (1)."""
        while not self.stop.is_set():
            if self.app.poll() is not None:
                _say(f"the dashboard exited with status {self.app.returncode}")
                return 1
            self.stop.wait(0.5)
        return 0

    def close(self) -> None:
        """Stop the scorer, the app, the threads and an embedded broker this run started."""
        self.stop.set()
        if self.scorer is not None:
            self.scorer.stop()
        app = self.app
        if app is not None and app.poll() is None:
            app.terminate()
            with contextlib.suppress(Exception):
                app.wait(10)
            if app.poll() is None:
                app.kill()
        for thread in self.threads:
            thread.join(timeout=10)
        if self.own_broker and not self.args.keep_broker:
            from inplay.brokers import embedded as broker

            broker.stop()
            _say("embedded broker stopped")


def run(args: argparse.Namespace) -> int:
    """Run the demo until Ctrl-C (or the screenshot, with ``--exit-after-screenshot``).

    Raises:
        config.ConfigError: no broker, no data or no fitted model; the message says what to do.
    """
    demo = _Demo(args)
    if args.app_only:
        args.replay = args.score = False
    model = _load_model(args.model) if args.score else None  # fail before starting anything
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C and SIGTERM stop everything, also in a shell that started us with SIGINT ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if not args.app_only:
            demo.start_kafka()
        if args.score:
            demo.start_scorer(model)
        if args.replay:
            demo.threads.append(_start_replay(args, demo.bootstrap, demo.stop))
        demo.start_app()
        if args.screenshot:
            demo.screenshot()
            if args.exit_after_screenshot:
                return 0
        return demo.wait()
    except KeyboardInterrupt:
        _say("stopping")
        return 0
    finally:
        demo.close()


def _load_model(name: str | None):
    from inplay.pipeline import load_scoring_model

    try:
        return load_scoring_model(name)
    except (config.ConfigError, FileNotFoundError) as exc:
        raise config.ConfigError(
            f"{exc} The dashboard's scorer needs it (`make demo` fits one too; pass --no-score "
            "if a scorer already runs)."
        ) from None


def _start_replay(args: argparse.Namespace, bootstrap: str | None, stop: threading.Event):
    from inplay.data.statsbomb import ensure_data
    from inplay.kafka import io as kafka_io
    from inplay.live.replay import replay
    from inplay.pipeline import DEMO_MATCH_IDS, select_matches

    data = ensure_data()
    matches = select_matches(data, match_ids=args.match_ids or list(DEMO_MATCH_IDS))
    names = "; ".join(f"{m.home_team} v {m.away_team}" for m in matches)
    _say(f"replay at {args.speed:g}x real time: {names}")

    def body() -> None:
        producer = kafka_io.make_producer(bootstrap)
        try:
            stats = replay(
                data,
                matches,
                speed=args.speed,
                stagger=args.stagger,
                bootstrap=bootstrap,
                producer=_StoppableProducer(producer, stop),
                progress=False,
            )
            _say(stats.summary() + "; the dashboard keeps running (Ctrl-C stops)")
        except _Stopped:
            pass
        finally:
            with contextlib.suppress(Exception):
                producer.flush(timeout=5)
                producer.close(timeout=5)

    thread = threading.Thread(target=body, name="replay", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    """``python -m inplay.dashboard.run``."""
    parser = add_arguments(
        argparse.ArgumentParser(
            prog="python -m inplay.dashboard.run",
            description="Live dashboard demo: broker, topics, replay, scorer and Streamlit app.",
        )
    )
    args = parser.parse_args(argv)
    try:
        return run(args)
    except config.ConfigError as exc:
        print(f"dashboard: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
