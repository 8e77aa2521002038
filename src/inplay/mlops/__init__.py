"""The MLOps loop.

Tracked experiments and the model registry (MLflow), live model quality, retrain-and-promote,
and the champion a running worker follows.
"""
