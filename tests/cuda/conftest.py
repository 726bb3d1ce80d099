"""The runner fixture of the study tests, for the GPU study check."""

from tests.studies.conftest import runner  # noqa: F401  (a fixture, used by name)
