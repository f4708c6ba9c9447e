"""Mutation check of the routing core: do the tests notice when a decision rule is broken?

Each mutant is one hand-made change to ``parley/domain/routing.py`` (or ``ptree.py``, its
persistent trees): a comparison turned, a condition dropped, an order changed. For each, a copy
of ``src/`` gets the change and the guards run against it, each stopping at its first failure:

- ``rules``: the example tests (``test_domain_routing.py``, ``test_domain_transfers.py``) and the
  Hypothesis state machine (``test_domain_routing_properties.py``), which check the rules
  themselves (for ``ptree.py``: ``test_domain_ptree.py``);
- ``differential``: ``test_domain_routing_differential.py``, which compares with the scanning
  core of before the indexes (``tests/domain/reference_routing.py``).

The differential test runs only for the mutants the rules' tests miss (``--both``: for all). A
mutant is caught when a guard fails (Hypothesis does not shrink here:
``bench/mutant_profile.py``). It prints one line per mutant and a summary.

    python bench/mutants.py [--only NAME ...] [--no-differential] [--both] [--check]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUTING = "parley/domain/routing.py"
PTREE = "parley/domain/ptree.py"
RULES = [
    "tests/domain/test_domain_routing.py",
    "tests/domain/test_domain_transfers.py",
    "tests/domain/test_domain_routing_properties.py",
]
DIFFERENTIAL = ["tests/domain/test_domain_routing_differential.py"]
PTREE_TESTS = ["tests/domain/test_domain_ptree.py"]


@dataclass(frozen=True)
class Mutant:
    name: str
    old: str
    new: str
    path: str = ROUTING


MUTANTS = [
    # Order and keys.
    Mutant(
        "priority-reversed",
        "(-request.priority, request.arrival, seq,",
        "(request.priority, request.arrival, seq,",
    ),
    Mutant(
        "arrival-ignored",
        "(-request.priority, request.arrival, seq,",
        "(-request.priority, seq, request.arrival,",
    ),
    Mutant("seq-not-advanced", "set(), new, self._seq + 1)", "set(), new, self._seq)"),
    Mutant(
        "move-keeps-place", "return self.remove(old).insert(new)", "return self.update(old, new)"
    ),
    # Indexes.
    Mutant(
        "transfers-as-plain",
        "        if request.transfer is None:\n            out.add((",
        "        if True:\n            out.add((",
    ),
    Mutant(
        "overflow-one-move-more", "if request.moves < max_moves:", "if request.moves <= max_moves:"
    ),
    # Dispatch.
    Mutant("holders-offered-again", "        if not _holds(holders, a.agent_id)\n", ""),
    Mutant(
        "offer-elsewhere-ignored", "a.has_capacity() and not a.offer_elsewhere", "a.has_capacity()"
    ),
    Mutant(
        "manual-queues-offered", "        if spec.strategy is not Strategy.MANUAL\n    ]", "    ]"
    ),
    Mutant(
        "skills-ignored", "[a for a in free.values() if a.qualifies(queue)]", "list(free.values())"
    ),
    Mutant("cooldown-ignored", "            if request.declined:\n", "            if False:\n"),
    Mutant(
        "cooldown-one-tick-longer",
        "now < declined + router.policy.decline_cooldown",
        "now <= declined + router.policy.decline_cooldown",
    ),
    Mutant(
        "transfers-never-offered",
        '    streams.append((None, iter(waiting.indexed("transfers"))))\n',
        "",
    ),
    Mutant(
        "named-manual-not-offered",
        "(found.strategy is Strategy.MANUAL and not named)",
        "(found.strategy is Strategy.MANUAL)",
    ),
    Mutant(
        "preferred-broadcast",
        "Strategy.BROADCAST and not preferred and not named",
        "Strategy.BROADCAST and not named",
    ),
    Mutant(
        "round-robin-repeats", "bisect.bisect_right(ids, last)", "bisect.bisect_left(ids, last)"
    ),
    Mutant("preferred-after-offers", "request.offers_made > 0:", "request.offers_made > 1:"),
    # Tick.
    Mutant(
        "expiry-late",
        "if now < created_at + policy.wait_timeout:",
        "if now <= created_at + policy.wait_timeout:",
    ),
    Mutant("offer-timeout-late", "        if now < first_end:", "        if now <= first_end:"),
    Mutant(
        "overflow-late", "if now < since + overflow.after:", "if now <= since + overflow.after:"
    ),
    Mutant(
        "overflow-in-queue-order",
        "    moved: list[str] = []\n    for key in sorted(due):",
        "    moved: list[str] = []\n    for key in due:",
    ),
    Mutant(
        "away-agents-keep-offers",
        "return agent is not None and agent.available",
        "return agent is not None",
    ),
    Mutant(
        "preferred-miss-counts",
        "                if not offer.preferred:\n",
        "                if True:\n",
    ),
    Mutant(
        "away-one-miss-late",
        "agent.missed >= router.policy.max_missed",
        "agent.missed > router.policy.max_missed",
    ),
    # Positions, deadlines, offers, transfers.
    Mutant(
        "positions-shift-reversed",
        "bisect.bisect_left(left_here, key) - bisect.bisect_left(came_here, key)",
        "bisect.bisect_left(came_here, key) - bisect.bisect_left(left_here, key)",
    ),
    Mutant(
        "positions-from-last-change",
        "start = min(came_here[:1] + left_here[:1])",
        "start = max(came_here[:1] + left_here[:1])",
    ),
    Mutant("positions-unsorted", "    changed.sort()\n", ""),
    Mutant(
        "cooldown-deadline-now",
        "if at + policy.decline_cooldown > now:",
        "if at + policy.decline_cooldown >= now:",
    ),
    Mutant(
        "overflow-no-deadline",
        "                deadlines.append(first[0] + spec.overflow.after)\n",
        "                pass\n",
    ),
    Mutant(
        "offer-open-at-its-end",
        "offer.agent_id != agent_id or now >= offer.expires_at",
        "offer.agent_id != agent_id or now > offer.expires_at",
    ),
    Mutant(
        "queue-one-too-long",
        "router.length(spec.queue_id) >= spec.max_length",
        "router.length(spec.queue_id) > spec.max_length",
    ),
    Mutant(
        "named-needs-skills",
        "return (named or agent.qualifies(spec)) and not cooling",
        "return agent.qualifies(spec) and not cooling",
    ),
    Mutant(
        "sender-offered-own-chat",
        "agent.agent_id == transfer.from_agent or transfer.to_agent",
        "transfer.to_agent",
    ),
    Mutant(
        "named-transfer-never-fails",
        "        return router, events\n    if request.offers:\n",
        "        return router, events\n    if True:\n",
    ),
    Mutant(
        "overflow-to-itself",
        "overflow.target in router.queues and overflow.target != spec.queue_id",
        "overflow.target in router.queues",
    ),
    # The trees.
    Mutant(
        "tree-rank-off", "below += sum(node.sizes[:i])", "below += sum(node.sizes[: i + 1])", PTREE
    ),
    Mutant(
        "tree-no-split",
        "    if node.width() <= WIDTH:\n        return [node]",
        "    if True:\n        return [node]",
        PTREE,
    ),
    Mutant(
        "tree-start-ignored", "i = bisect_left(node.keys, key) if bounded else 0", "i = 0", PTREE
    ),
    Mutant(
        "tree-merge-order",
        "pair = (kid, node.kids[j]) if i < j else (node.kids[j], kid)",
        "pair = (node.kids[j], kid)",
        PTREE,
    ),
    Mutant(
        "broadcast-holders-forgotten",
        'out.update(("holders", (o.agent_id, key)) for o in request.offers)',
        'out.add(("holders", (request.offers[0].agent_id, key)))',
    ),
    Mutant(
        "taken-still-skilled",
        "a for a in skilled[queue.queue_id] if a.agent_id in free",
        "a for a in skilled[queue.queue_id]",
    ),
    Mutant(
        "best-heap-keeps-taken",
        "while heap and heap[0][1] not in free:",
        "while heap and False:",
    ),
    Mutant(
        "best-heap-ignores-cooldown",
        "                and not request.declined\n",
        "",
    ),
    Mutant(
        "best-heap-ignores-preferred",
        "                and not _preferring(request, router, now)\n",
        "",
    ),
    Mutant(
        "best-not-idlest",
        "(agent.active_chats, agent.idle_since, agent.agent_id)",
        "(agent.active_chats, agent.agent_id, agent.idle_since)",
    ),
]


def run(tests: list[str], src: Path, timeout: float) -> bool:
    """Do ``tests`` pass against ``src``? (A run past ``timeout`` counts as caught: it hangs.)"""
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "bench.mutant_profile", *tests]
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None)
    parser.add_argument("--no-differential", action="store_true")
    parser.add_argument("--both", action="store_true", help="the differential test for all")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--check", action="store_true", help="only check that each one applies")
    args = parser.parse_args()
    mutants = [m for m in MUTANTS if args.only is None or m.name in args.only]
    if args.check:
        for mutant in mutants:
            count = (ROOT / "src" / mutant.path).read_text().count(mutant.old)
            print(f"{mutant.name:28s} {'ok' if count == 1 else f'found {count} times'}")
        return
    caught = {"rules": 0, "differential": 0, "either": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for mutant in mutants:
            src = Path(tmp) / mutant.name
            shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__"))
            target = src / mutant.path
            text = target.read_text()
            assert text.count(mutant.old) == 1, f"{mutant.name}: the text to change is not unique"
            target.write_text(text.replace(mutant.old, mutant.new))
            started = time.monotonic()
            guards = PTREE_TESTS if mutant.path == PTREE else RULES
            by_rules = not run(guards, src, args.timeout)
            # The differential test notices any change the rules' tests let through; it runs
            # only for those (or for every mutant with --both), to keep the check short.
            by_diff = (
                mutant.path == ROUTING
                and not args.no_differential
                and (args.both or not by_rules)
                and not run(DIFFERENTIAL, src, args.timeout)
            )
            caught["rules"] += by_rules
            caught["differential"] += by_diff
            caught["either"] += by_rules or by_diff
            verdict = "caught" if by_rules or by_diff else "MISSED"
            diff = "x" if by_diff else ("not run" if by_rules else "-")
            elapsed = time.monotonic() - started
            print(
                f"{mutant.name:28s} {verdict:7s} rules={'x' if by_rules else '-'}"
                f" differential={diff} ({elapsed:.0f} s)",
                flush=True,
            )
            shutil.rmtree(src)
    print(
        f"{len(mutants)} mutants: {caught['either']} caught, {caught['rules']} by the rules' own"
        f" tests, {caught['differential']} more by the differential test"
    )


if __name__ == "__main__":
    main()
