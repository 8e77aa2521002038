"""inplay: live (in-play) football match prediction on Apache Kafka from real StatsBomb events."""

__version__ = "0.1.0"
