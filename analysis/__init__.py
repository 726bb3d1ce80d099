"""analysis: reads the Parquet results written by ``studies`` and makes tables and plots."""
