"""Shared synthetic histories and analyses (built once per test session)."""

from __future__ import annotations

from datetime import date

import pytest

from winback.analytics.pipeline import AnalysisResult, analyze
from winback.config import BusinessProfile, preset

from .synth import Synthetic, synth_history

AS_OF = date(2025, 6, 30)


@pytest.fixture(scope="session")
def retail() -> BusinessProfile:
    return preset("retail")


@pytest.fixture(scope="session")
def synth() -> Synthetic:
    return synth_history(2500, seed=7)


@pytest.fixture(scope="session")
def analysis(synth: Synthetic, retail: BusinessProfile) -> AnalysisResult:
    return analyze(synth.frames, retail, AS_OF)
