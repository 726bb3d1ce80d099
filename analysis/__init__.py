"""analysis: reads the Parquet results written by ``studies`` and makes tables and plots.

Imports neither ``studies`` nor ``hnet_core``: everything comes from the result files.

    import analysis
    results = analysis.load("hypercl_splitmnist", "results")   # trials, epochs, acc_matrix
    both = analysis.load(["static_hnet_mnist-quick", "static_hnet_mnist-paper"])
    both.trials.groupby("study").value_valid_error.min()       # one frame, a study column
    analysis.metrics.summarize(results.acc_matrix)              # ACC, BWT, forgetting per run
    analysis.confirmation_table(results.confirmations, "final_acc")  # studies.confirm runs
"""

from analysis import metrics
from analysis._confirmations import confirmation_table, holm, mean_winners_curse
from analysis._load import (
    SCHEMA_VERSION,
    ComparedResults,
    ResultsNotFound,
    SchemaVersionError,
    StudyInfo,
    StudyResults,
    find_study,
    load,
)

__all__ = ["SCHEMA_VERSION", "ComparedResults", "ResultsNotFound", "SchemaVersionError",
           "StudyInfo", "StudyResults", "confirmation_table", "find_study", "holm", "load",
           "mean_winners_curse", "metrics"]
