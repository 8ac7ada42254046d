"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pipeline.harness import RunningPipeline, start_pipeline
from trackflow.settings import Settings


@pytest.fixture(scope="session")
def shared_pipeline(
    tmp_path_factory: pytest.TempPathFactory, stack_settings: Settings
) -> Iterator[RunningPipeline]:
    """One pipeline for every test that only needs its own project: projects
    never share devices, sessions or rows, so tests stay independent."""
    running = start_pipeline(tmp_path_factory.mktemp("pipeline"), stack_settings)
    try:
        yield running
    finally:
        running.stop()
