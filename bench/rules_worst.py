"""Worst-case time of one routing-rule evaluation: the patterns that make backtracking engines
blow up, on a 1 KB field, through the real rule evaluation (``rules.parse`` then
``rules.route``, as ``RoutingService.enqueue_in`` runs them), on RE2.

For each pattern the field holds the text that hurts it most (no match at the end, so a
backtracking engine tries every way to split it). Per-evaluation time is reported as the median
and the maximum over ``--runs`` evaluations, in microseconds of CPU time (and the wall-clock
maximum beside it); the first evaluations of a pattern build RE2's DFA states, so the maximum
includes that ("warm max" leaves the first 10 runs out). The last patterns sit near the
program size cap (``rules.MAX_PROGRAM_SIZE``) with nested counted repetitions, which can push
RE2 off its DFA; they get fresh random text on every run, so no DFA state is reused.

For comparison, Python's ``re`` (what Parley used before, with ``re.IGNORECASE``) runs the same
pattern on growing fields (8, 16, 32, ... characters) in a child process, stopped after
``--re-timeout`` seconds: the table shows the largest field it finished within that and its
time. Python's ``re`` cannot be interrupted, so a child process is the only guard.

Issue 8 aims at well under a millisecond for the worst pattern on a 1 KB field.

    python bench/rules_worst.py [--runs 1000] [--field 1024] [--re-timeout 1.0]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import random
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parley.domain import rules

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789 ,.-/=_é"


@dataclass(frozen=True)
class Case:
    pattern: str
    #: The field's text for a size, and a random source (for the random-text cases).
    text: Callable[[int, random.Random], str]
    random_text: bool = False


def repeat(unit: str, tail: str = "") -> Callable[[int, random.Random], str]:
    def text(n: int, _: random.Random) -> str:
        return (unit * (n // len(unit) + 1))[: n - len(tail)] + tail

    return text


def noise(n: int, rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(n))


CASES = [
    # The two from the review, and the classic ReDoS shapes.
    Case(".*.*.*=", repeat("a")),
    Case(r"^(\w+\s?)+$", repeat("word ", "!")),
    Case("(a+)+$", repeat("a", "!")),
    Case("(x+x+)+y", repeat("x")),
    Case("(a|aa)+$", repeat("a", "!")),
    Case("(a|a?)+$", repeat("a", "!")),
    Case(r"^(\d+)*$", repeat("1", "x")),
    Case(r"^([a-z0-9]+\.?)+@example\.com$", repeat("a", "!")),
    Case(r"^(([a-z])+.)+[A-Z]([a-z])+$", repeat("a", "!")),
    Case(r"(\w+\s?)*\d{4}-\d{4}=", repeat("word ")),
    # Near RE2's program-size cap, nested counted repetitions, fresh random text each run.
    Case(r"(.{1,5}){1,10}z", noise, random_text=True),
    Case(r"(\w{1,5}\s?){1,10}!", noise, random_text=True),
    Case(r".{60}=", noise, random_text=True),
]


def condition(pattern: str) -> dict[str, Any]:
    return {"field": "question", "op": "matches", "value": pattern}


WARM_UP = 10


def re2_times(case: Case, field: int, runs: int) -> tuple[int, float, float, float, float]:
    """(program size, median, max, max after the first ``WARM_UP`` runs, wall-clock max) of
    one ``rules.route`` over the pattern's rule, in µs. All but the last are the evaluating
    thread's CPU time, which other processes on the machine do not inflate; the wall-clock max
    adds the scheduler's and the machine's pauses. The garbage collector is off while timing
    (its pauses are not RE2's)."""
    parsed = rules.parse(condition(case.pattern))
    program = rules._program_size(rules._compiled(case.pattern))
    chain = [rules.Rule(parsed, queue_id=2, priority=1, name="worst")]
    rng = random.Random(8)
    fixed = case.text(field, rng)
    cpu: list[int] = []
    wall: list[int] = []
    gc.disable()
    try:
        for _ in range(runs):
            metadata = {"question": case.text(field, rng) if case.random_text else fixed}
            start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
            rules.route(chain, metadata, default_queue=1)
            cpu.append(time.thread_time_ns() - start_cpu)
            wall.append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    steady = max(cpu[WARM_UP:], default=0)
    return (
        program,
        statistics.median(cpu) / 1e3,
        max(cpu) / 1e3,
        steady / 1e3,
        max(wall) / 1e3,
    )


def _re_child(pattern: str, text: str, out: Any) -> None:
    compiled = re.compile(pattern, re.IGNORECASE)
    start = time.perf_counter()
    compiled.search(text)
    out.put(time.perf_counter() - start)


def re_largest(case: Case, field: int, timeout: float) -> tuple[int, float, int | None]:
    """Python ``re`` on fields of 8, 16, 32, ... characters, each in a child process stopped
    after ``timeout``: (largest size that finished, its seconds, first size that did not)."""
    ctx = multiprocessing.get_context("fork")
    size, done, took = 8, 0, 0.0
    rng = random.Random(8)
    while size <= field:
        out = ctx.Queue()
        child = ctx.Process(target=_re_child, args=(case.pattern, case.text(size, rng), out))
        child.start()
        child.join(timeout)
        if child.is_alive():
            child.kill()
            child.join()
            return done, took, size
        done, took = size, out.get()
        size *= 2
    return done, took, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--field", type=int, default=1024, help="field length in characters")
    parser.add_argument("--re-timeout", type=float, default=1.0, help="seconds per re run")
    args = parser.parse_args()

    print(
        f"One rule evaluation on a {args.field}-character field, {args.runs} runs; RE2 program"
        f" size cap {rules.MAX_PROGRAM_SIZE}; Python re stopped after {args.re_timeout} s.\n"
    )
    header = (
        f"{'pattern':34} {'prog':>5} {'RE2 median':>11} {'max':>8} {'warm max':>9}"
        f" {'wall max':>9}   "
        f"{'Python re (largest field under the limit)':<44}"
    )
    print(header)
    print("-" * len(header))
    worst = worst_median = 0.0
    for case in CASES:
        program, median, peak, warm, wall = re2_times(case, args.field, args.runs)
        worst, worst_median = max(worst, peak), max(worst_median, median)
        done, took, stopped = re_largest(case, args.field, args.re_timeout)
        if stopped is None:
            python = f"{done} chars: {took * 1e3:,.1f} ms"
        else:
            python = f"{done} chars: {took * 1e3:,.1f} ms; {stopped} chars: > {args.re_timeout} s"
        print(
            f"{case.pattern:34} {program:>5} {median:>8.1f} µs {peak:>5.0f} µs {warm:>6.0f} µs"
            f" {wall:>6.0f} µs"
            f"   {python:<44}"
        )
    print(
        f"\nRE2, CPU time per evaluation: worst median {worst_median:.1f} µs, worst max"
        f" {worst:.0f} µs (aim: well under 1,000 µs). The max is a pattern's first runs, while"
        f" RE2 builds its DFA; 'warm max' leaves out the first {WARM_UP}. The wall-clock max"
        " also counts the machine's pauses (other processes, the scheduler)."
    )


if __name__ == "__main__":
    main()
