"""analysis: reads the Parquet results written by ``studies`` and makes tables and plots.

Imports neither ``studies`` nor ``hnet_core``: everything comes from the result files.

    import analysis
    results = analysis.load("hypercl_splitmnist", "results")   # trials, epochs, acc_matrix
    analysis.metrics.summarize(results.acc_matrix)              # ACC, BWT, forgetting per run
"""

from analysis import metrics
from analysis._load import (
    SCHEMA_VERSION,
    ResultsNotFound,
    SchemaVersionError,
    StudyInfo,
    StudyResults,
    find_study,
    load,
)

__all__ = ["SCHEMA_VERSION", "ResultsNotFound", "SchemaVersionError", "StudyInfo", "StudyResults",
           "find_study", "load", "metrics"]
