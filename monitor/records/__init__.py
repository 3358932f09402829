"""The shared records at the bottom of the layers: what one package hands another.

Results and drift scores (`results`), the run-metric catalog and metric-name prefixes
(`catalog`), row records and rows set aside (`rows`), model outputs (`scores`) and label
records (`labels`). They import nothing of driftwarden's above them, so the store, the
metrics, the sources and the exporter can all read them without importing one another
(docs/architecture.md).
"""
