"""Benchmarks: how fast the pages, the API, the documents and the writes are, at city and national scale.

Run ``python -m benchmarks`` (see ``python -m benchmarks --help``). It builds its own databases
(a SQLite file under instance/bench/, a ``congress_bench_<scale>`` database on the PostgreSQL
server), seeds them once with ``flask seed --scale``, and prints, per backend, the median and
95th percentile of each measure, the time of a hand-written SQL query that computes the same
figures as the page (measured in the same run) with the ratio between the two, and whether each
target is met.
"""
