"""Aligning two sequences (a page's sentences, a sentence's words) in bounded work.

difflib's `SequenceMatcher` makes the alignments users read, but its work grows with the square of
repeated items, and worse: one sentence added to 16,000 identical ones took minutes. So every
alignment here spends from a `Budget` of steps of work, never of time, so that the same two texts
give the same result on any machine (summaries are stored in `meta.json`):

1. difflib itself, charged before each of its searches for a longest match with an exact upper bound of the
   steps that search takes. Within the budget the result is difflib's, exactly as before.
2. Past the budget, work linear in the input (or n log n): the common head and tail are matched; lines that
   occur once on each side anchor the rest (patience diff: their longest increasing sequence), and the gaps
   between anchors are aligned the same way, in turn.
3. A gap without anchors goes to difflib if it fits what is left of the budget, else to Myers' shortest edit
   script, whose work is the gap's length times the number of edits (few edits among repeated lines); a gap
   still too costly becomes one replaced run.
"""

from __future__ import annotations

import difflib
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from itertools import accumulate

Block = tuple[int, int, int]  # a[i:i + size] == b[j:j + size]
Opcode = tuple[str, int, int, int, int]  # as difflib's: tag, i1, i2, j1, j2

# Steps of work one alignment may take: about a third of a second of difflib on the development
# machine (a heavily rewritten article of 1,000 sentences takes 376,000), a second or two on a slow
# machine.
WORK_LIMIT = 1_000_000
# Edits Myers' algorithm may look for in one gap: its memory grows with their square (about 15 MB
# here).
MAX_EDITS = 600
# Levels of anchors within anchors: each costs one linear pass over the gaps left.
MAX_DEPTH = 12


class Budget:
    """Steps of work still allowed; shared by the alignments that together make one result."""

    def __init__(self, steps: int = WORK_LIMIT) -> None:
        self.left = steps

    def spend(self, steps: int) -> bool:
        """Take `steps` if they are left (True), or take nothing (False)."""
        if steps > self.left:
            return False
        self.left -= steps
        return True


def opcodes(
    a: Sequence[Hashable], b: Sequence[Hashable], budget: Budget | None = None
) -> list[Opcode]:
    """How to turn `a` into `b`, in difflib's form (and difflib's very result when it fits the
    budget)."""
    answer, i, j = [], 0, 0
    for ai, bj, size in [*matching_blocks(a, b, budget), (len(a), len(b), 0)]:
        tag = "replace" if i < ai and j < bj else "delete" if i < ai else "insert" if j < bj else ""
        if tag:
            answer.append((tag, i, ai, j, bj))
        if size:
            answer.append(("equal", ai, ai + size, bj, bj + size))
        i, j = ai + size, bj + size
    return answer


def ratio(a: Sequence[Hashable], b: Sequence[Hashable], budget: Budget | None = None) -> float:
    """difflib's similarity ratio: twice the matched items over the items of both."""
    total = len(a) + len(b)
    return 2.0 * sum(size for _, _, size in matching_blocks(a, b, budget)) / total if total else 1.0


def matching_blocks(
    a: Sequence[Hashable], b: Sequence[Hashable], budget: Budget | None = None
) -> list[Block]:
    """The matching runs of `a` and `b`, in order, adjacent runs merged (difflib's, without its end
    marker)."""
    budget = budget if budget is not None else Budget()
    blocks = _difflib(a, b, budget)
    if blocks is None:
        blocks = []
        _align(a, 0, len(a), b, 0, len(b), budget, blocks, 0)
    return _merged(blocks)


class _OverBudget(Exception):
    pass


class _Charged(difflib.SequenceMatcher):
    """difflib's matcher, paying for each longest-match search before it starts.

    A search over a[alo:ahi] visits, for each item of that range, at most every position of that
    item in `b` (difflib skips those before `blo` one by one): prefix sums of those counts bound its
    steps exactly.
    """

    def __init__(
        self, a: Sequence[Hashable], b: Sequence[Hashable], in_b: Counter[Hashable], budget: Budget
    ) -> None:
        super().__init__(None, a, b, autojunk=False)
        self.budget, self.size = budget, len(a)
        self.cost = list(accumulate((in_b[x] + 1 for x in a), initial=0))

    def find_longest_match(
        self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None
    ) -> difflib.Match:
        if not self.budget.spend(self.cost[self.size if ahi is None else ahi] - self.cost[alo]):
            raise _OverBudget
        return super().find_longest_match(alo, ahi, blo, bhi)


def _difflib(a: Sequence[Hashable], b: Sequence[Hashable], budget: Budget) -> list[Block] | None:
    # The first search alone visits every position in `b` of every item of `a`: counted in C, that
    # is far cheaper than building difflib's index only to find it unaffordable.
    in_a, in_b = Counter(a), Counter(b)
    if sum(count * in_b[x] for x, count in in_a.items() if x in in_b) + len(a) > budget.left:
        return None
    try:
        return [(m.a, m.b, m.size) for m in _Charged(a, b, in_b, budget).get_matching_blocks()[:-1]]
    except _OverBudget:
        return None


def _align(
    a: Sequence[Hashable],
    alo: int,
    ahi: int,
    b: Sequence[Hashable],
    blo: int,
    bhi: int,
    budget: Budget,
    out: list[Block],
    depth: int,
) -> None:
    """Append the blocks of a[alo:ahi] against b[blo:bhi] to `out`, in order."""
    head = _gallop(
        min(ahi - alo, bhi - blo),
        lambda at, n: a[alo + at : alo + at + n] == b[blo + at : blo + at + n],
    )
    if head:
        out.append((alo, blo, head))
        alo, blo = alo + head, blo + head
    tail = _gallop(
        min(ahi - alo, bhi - blo),
        lambda at, n: a[ahi - at - n : ahi - at] == b[bhi - at - n : bhi - at],
    )
    ahi, bhi = ahi - tail, bhi - tail
    if alo < ahi and blo < bhi:
        anchors = _anchors(a, alo, ahi, b, blo, bhi) if depth < MAX_DEPTH else []
        if anchors:
            i, j = alo, blo
            for ai, bj in anchors:
                _align(a, i, ai, b, j, bj, budget, out, depth + 1)
                out.append((ai, bj, 1))
                i, j = ai + 1, bj + 1
            _align(a, i, ahi, b, j, bhi, budget, out, depth + 1)
        else:
            _gap(a[alo:ahi], b[blo:bhi], alo, blo, budget, out)
    if tail:
        out.append((ahi, bhi, tail))


def _gallop(limit: int, same: Callable[[int, int], bool]) -> int:
    """The longest common head (or tail) up to `limit`, where `same(at, n)` compares n items from
    `at` in C: doubling n while they match, then halving it: linear, without a Python step per
    item."""
    size, step, growing = 0, 1, True
    while step and size < limit:
        step = min(step, limit - size)
        if same(size, step):
            size += step
            step *= 2 if growing else 1
        else:
            growing, step = False, step // 2
    return size


def _gap(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    alo: int,
    blo: int,
    budget: Budget,
    out: list[Block],
) -> None:
    """A gap without anchors: difflib or Myers if either fits the budget; otherwise one replaced
    run."""
    blocks = _difflib(a, b, budget)
    if blocks is None:
        blocks = _myers(a, b, budget) or []
    out.extend((alo + i, blo + j, size) for i, j, size in blocks)


def _anchors(
    a: Sequence[Hashable], alo: int, ahi: int, b: Sequence[Hashable], blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Items found exactly once on each side, as the longest run of them in the same order on both
    sides."""
    in_a = Counter(a[alo:ahi])
    in_b = Counter(b[blo:bhi])
    where = {b[j]: j for j in range(blo, bhi) if in_b[b[j]] == 1 and in_a.get(b[j]) == 1}
    pairs = [(i, where[a[i]]) for i in range(alo, ahi) if a[i] in where]
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest subsequence of `pairs` (in increasing i) whose j increase too: patience
    sorting."""
    tops: list[int] = []  # the smallest j ending an increasing run of each length
    ends: list[int] = []  # the index in `pairs` of that run's last pair
    before = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        length = bisect_left(tops, j)
        if length:
            before[index] = ends[length - 1]
        if length == len(tops):
            tops.append(j)
            ends.append(index)
        else:
            tops[length], ends[length] = j, index
    run, index = [], ends[-1] if ends else -1
    while index >= 0:
        run.append(pairs[index])
        index = before[index]
    return run[::-1]


def _myers(a: Sequence[Hashable], b: Sequence[Hashable], budget: Budget) -> list[Block] | None:
    """The blocks of a shortest edit script (Myers, 1986), or None past MAX_EDITS edits or the
    budget.

    Round d extends, on each diagonal k = x - y, the furthest path with d edits, then follows the
    "snake" of equal items; every round and every step of a snake is paid for.
    """
    n, m = len(a), len(b)
    furthest = {1: 0}
    rounds = []
    for d in range(min(n + m, MAX_EDITS) + 1):
        if not budget.spend(2 * d + 1):
            return None
        rounds.append(dict(furthest))
        for k in range(-d, d + 1, 2):
            x = (
                furthest[k + 1]
                if k == -d or (k != d and furthest[k - 1] < furthest[k + 1])
                else furthest[k - 1] + 1
            )
            start = x
            while x < n and x - k < m and a[x] == b[x - k]:
                x += 1
            if not budget.spend(x - start):
                return None
            furthest[k] = x
            if x >= n and x - k >= m:
                return _path(rounds, n, m)
    return None


def _path(rounds: list[dict[int, int]], x: int, y: int) -> list[Block]:
    """Walk Myers' rounds back from the end: each round's snake is a matching block."""
    blocks = []
    for d in range(len(rounds) - 1, -1, -1):
        furthest, k = rounds[d], x - y
        down = k == -d or (k != d and furthest[k - 1] < furthest[k + 1])
        before = k + 1 if down else k - 1
        start = 0 if d == 0 else furthest[before] + (0 if down else 1)  # where the snake began
        if x > start:
            blocks.append((start, start - k, x - start))
        x = furthest[before] if d else 0
        y = x - before
    return blocks[::-1]


def _merged(blocks: list[Block]) -> list[Block]:
    merged: list[list[int]] = []
    for i, j, size in blocks:
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            merged[-1][2] += size
        elif size:
            merged.append([i, j, size])
    return [(i, j, size) for i, j, size in merged]
