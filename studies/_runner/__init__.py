"""The runner's machinery behind ``python -m studies.run``: overrides, registry, session, driver,
Ray backend, storage, results and progress. Study files import from :mod:`studies`, not here."""
