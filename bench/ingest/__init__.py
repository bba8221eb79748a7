"""Ingest benchmark: documents preloaded in the stream until all are acknowledged and durable.

    .venv/bin/python -m bench.ingest                      # 200,000 documents, median of 3
    .venv/bin/python -m bench.ingest --count 20000 --repeat 1   # quick look

alphap end to end (the real tree: ingress, journal, portfolios, snapshots) is
compared in the same run with (a) the old pattern, one INSERT and COMMIT per
event, and (b) the limit, binary COPY of the same events in batches of 5,000.
Results: docs/benchmarks/ingest.md.
"""
