"""python -m benchmarks [--backend sqlite|postgresql|both] [--scale haiphong|national] ...

Prints one table: per backend and measure, the median and 95th percentile, the hand-written SQL
that computes the same figures (median) and the ratio of the two, the target and whether it is met.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import date

from . import database, imports, measures, throughput
from .measures import Result

#: writes per second through gunicorn (2 workers, 50 clients) and a worker's memory
MIN_WRITES_PER_SECOND = 300
MAX_WORKER_MB = 200


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms"


def _mark(met: bool | None) -> str:
    return "—" if met is None else ("met" if met else "MISSED")


def table(rows: list[tuple[str, Result]]) -> str:
    header = ("backend", "measure", "median", "p95", "hand-written SQL", "ratio", "target", "")
    lines = [header]
    for backend, r in rows:
        if r.figure is not None:
            lines.append((backend, r.name, r.figure, "", "", "", r.note, _mark(r.target_met)))
            continue
        if r.timing is None and r.note:
            lines.append((backend, r.name, r.note, "", _ms(r.sql.median_ms if r.sql else None), "—", r.target,
                          "MISSED"))
            continue
        lines.append((backend, r.name, _ms(r.timing.median_ms if r.timing else None),
                      _ms(r.timing.p95_ms if r.timing else None), _ms(r.sql.median_ms if r.sql else None),
                      f"{r.ratio:.1f}×" if r.ratio is not None else "—", r.target, _mark(r.target_met)))
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
    notes = [f"- {backend}, {r.name}: {d}" for backend, r in rows for d in r.details]
    return "\n".join(out + ([""] + notes if notes else []))


def throughput_results(found: throughput.Throughput) -> list[Result]:
    refused = ", ".join(f"{n}× HTTP {status}" for status, n in sorted(found.refused.items())) or "none refused"
    all_audited = found.audited == found.accepted
    worst = max(found.worker_rss_mb, default=0.0)
    return [
        Result("step transitions/s via gunicorn (2 workers, 50 clients)", None, figure=f"{found.per_second:.1f}/s",
               note=f"≥ {MIN_WRITES_PER_SECOND}/s", met=found.per_second >= MIN_WRITES_PER_SECOND and all_audited,
               details=[f"{found.accepted} of {found.writes} writes accepted in {found.seconds:.1f} s ({refused})"]),
        Result("accepted writes found in the audit log", None, figure=f"{found.audited}/{found.accepted}",
               note="all", met=all_audited),
        Result("worker memory after national readiness + dashboard", None, figure=f"{worst:.0f} MB",
               note=f"< {MAX_WORKER_MB} MB", met=bool(found.worker_rss_mb) and worst < MAX_WORKER_MB,
               details=["workers: " + ", ".join(f"{mb:.0f} MB" for mb in found.worker_rss_mb)]),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", choices=("haiphong", "national"), default="national",
                        help="the data: Hải Phòng's 114 units, or all 3,321 units (default)")
    parser.add_argument("--runs", type=int, default=20, help="repetitions of each fast measure (default 20)")
    parser.add_argument("--writes", type=int, default=3000, help="step transitions for the throughput measure")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients for the throughput measure")
    parser.add_argument("--postgresql-url", default=os.environ.get("BENCH_POSTGRESQL_URL", database.DEFAULT_POSTGRESQL),
                        help="a PostgreSQL server where the benchmark may create its database")
    parser.add_argument("--reseed", action="store_true", help="rebuild the benchmark databases")
    parser.add_argument("--no-throughput", action="store_true", help="skip the gunicorn measure")
    parser.add_argument("--import-rows", type=int, default=imports.ROWS,
                        help=f"rows of the large branch import (default {imports.ROWS:,}; 0 skips it)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    args = parser.parse_args(argv)

    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    rows: list[tuple[str, Result]] = []
    for backend in backends:
        print(f"[{backend}] preparing the {args.scale} database …", file=sys.stderr)
        bench = database.prepare(backend, args.scale, args.postgresql_url, reseed=args.reseed,
                                 echo=lambda line: print(line, file=sys.stderr))
        counts = ", ".join(f"{n:,} {name.replace('_', ' ')}" for name, n in bench.counts.items())
        seed = Result("seed --scale " + args.scale, None,
                      figure=_ms(bench.seed_seconds * 1000) if bench.seed_seconds else "—", note=counts)
        rows.append((backend, seed))
        for result in measures.run(bench.url, args.runs, log=lambda line: print(line, file=sys.stderr)):
            rows.append((backend, result))
        if args.import_rows:
            with database.scratch(bench, args.postgresql_url) as url:
                rows.extend((backend, r) for r in imports.run(url, args.import_rows,
                                                               log=lambda line: print(line, file=sys.stderr)))
        if not args.no_throughput:
            found = throughput.run(bench.url, args.writes, clients=args.clients,
                                   log=lambda line: print(line, file=sys.stderr))
            rows.extend((backend, r) for r in throughput_results(found))
    machine = (f"{os.cpu_count()} cores, {_memory_gib()} GiB, {platform.platform(terse=True)}, "
               f"Python {platform.python_version()}")
    text = f"Taken {date.today().isoformat()} on {machine}; scale {args.scale}; {args.runs} runs.\n\n{table(rows)}\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


def _memory_gib() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            return round(int(fh.readline().split()[1]) / 1024 / 1024)
    except OSError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
