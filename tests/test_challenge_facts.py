"""The bank's checkable facts, recomputed: each quiz's correct option must match the code."""

from __future__ import annotations

import contextlib
import heapq
import io
import math
import warnings
from collections.abc import Callable
from fractions import Fraction
from itertools import product

import numpy as np
import pytest

from bot.services.challenges import load_shipped

BANK = {c.id: c for c in load_shipped()}


def printed(source: str) -> str:
    """What running `source` prints (the snippets shown to members, run as they are)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns about the chained assignment shown
        exec(source, {})
    return out.getvalue().strip()


def snippet(challenge_id: str) -> str:
    prompt = BANK[challenge_id].prompt
    return prompt.split("```python\n", 1)[1].split("```", 1)[0]


def finally_result() -> str:
    namespace: dict = {}
    exec(snippet("py-return-in-finally"), namespace)
    return repr(namespace["f"]())


def prob_shared_birthday(n: int) -> float:
    return 1 - math.prod((365 - k) / 365 for k in range(n))


def smallest_birthday_group() -> str:
    return str(next(n for n in range(2, 366) if prob_shared_birthday(n) > 0.5))


def pandas_rows() -> str:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"x": range(10)})
    return f"{len(df.loc[0:2])} and {len(df.iloc[0:2])}"


def pandas_mean() -> str:
    pd = pytest.importorskip("pandas")
    return str(pd.Series([1, None, 3]).mean())


def pandas_groupby() -> str:
    pytest.importorskip("pandas")
    return printed(snippet("pd-groupby-sum"))


def pandas_merge() -> str:
    pd = pytest.importorskip("pandas")
    a = pd.DataFrame({"key": [1, 2, 3]})
    b = pd.DataFrame({"key": [2, 3, 4]})
    return str(len(a.merge(b, on="key", how="inner")))


def pandas_snippet(challenge_id: str) -> str:
    pytest.importorskip("pandas")
    return printed(snippet(challenge_id))


def pandas_share() -> str:
    pd = pytest.importorskip("pandas")
    return str(pd.Series(["a", "a", "b", "c"]).value_counts(normalize=True)["a"])


def pandas_dropna() -> str:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"x": [1, np.nan, 3, 4], "y": [1, 2, np.nan, 4]})
    return str(len(df.dropna()))


def max_pool_shape() -> str:
    feature_map = np.random.default_rng(0).random((28, 28, 16))
    pooled = feature_map.reshape(14, 2, 14, 2, 16).max(axis=(1, 3))  # 2x2 windows, stride 2
    return "x".join(map(str, pooled.shape))


def receptive_field() -> str:
    """The input pixels one output of two stacked 3x3 convolutions depends on."""
    reach = np.convolve(np.ones(3), np.ones(3))  # one axis; the other is the same
    return f"{len(reach)}x{len(reach)}"


def iou(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    overlap = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return overlap / (area - overlap)


def token_cost() -> str:
    per_request = 2_000 * 0.50 / 1e6 + 500 * 1.50 / 1e6
    return f"${per_request * 1_000:.2f}"


def word_analogy() -> str:
    words = {"king": [3, 2], "man": [2, 0], "woman": [2, 1]}
    target = np.array(words["king"]) - words["man"] + words["woman"]
    options = BANK["nlp-embedding-analogy"].options
    return next(o for o in options if o.endswith(str(target.tolist())))


def mle_heads() -> str:
    """The p in [0, 1] (to two places) that makes 7 heads in 10 flips most likely."""
    grid = np.linspace(0, 1, 101)
    return str(round(float(grid[np.argmax(grid**7 * (1 - grid) ** 3)]), 2))


def softmax(values: list[float]) -> list[float]:
    exps = np.exp(np.array(values) - max(values))
    return [float(p) for p in exps / exps.sum()]


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def two_dice_seven() -> str:
    hits = sum(1 for a, b in product(range(1, 7), repeat=2) if a + b == 7)
    return str(Fraction(hits, 36))


def bayes() -> str:
    p = 0.01 * 0.99 / (0.01 * 0.99 + 0.99 * 0.05)
    return f"About {round(p * 100)}%"


def y_equals_x_squared_correlation() -> str:
    x = np.linspace(-1, 1, 200_001)
    return str(round(float(np.corrcoef(x, x**2)[0, 1]), 6) + 0.0).replace("0.0", "0")


def conv_output() -> str:
    size = (32 - 5 + 2 * 0) // 1 + 1
    return f"{size}x{size}"


def linear_params() -> str:
    return f"{128 * 10 + 10:,}"


def heappop() -> str:
    data = [5, 1, 4]
    heapq.heapify(data)
    return str(heapq.heappop(data))


# id -> a function computing the text of the option that must be marked correct
CHECKS: dict[str, Callable[[], str]] = {
    "py-mutable-default": lambda: printed(snippet("py-mutable-default")),
    "py-is-vs-equals": lambda: printed(snippet("py-is-vs-equals")),
    "py-nested-list-multiply": lambda: printed(snippet("py-nested-list-multiply")),
    "py-dict-order": lambda: repr(list({"b": 1, "a": 2})),
    "py-generator-exhausted": lambda: printed(snippet("py-generator-exhausted")),
    "py-late-binding-closures": lambda: printed(snippet("py-late-binding-closures")),
    "py-floor-division-negative": lambda: f"{-7 // 2} {-7 % 2}",
    "py-float-sum": lambda: str(0.1 + 0.2 == 0.3),
    "py-set-of-equal-numbers": lambda: str(len({1, 1.0, True})),  # noqa: B033
    "py-shared-class-attribute": lambda: printed(snippet("py-shared-class-attribute")),
    "py-return-in-finally": finally_result,
    "py-slice-step": lambda: repr("abcdef"[1:5:2]),
    "py-sorted-key-reverse": lambda: repr(sorted(["bb", "a", "ccc"], key=len, reverse=True)),
    "dsa-binary-search-steps": lambda: f"About {math.floor(math.log2(1_000_000)) + 1}",
    "dsa-heap-pop": heappop,
    "stats-two-dice-seven": two_dice_seven,
    "stats-at-least-one-six": lambda: f"About {1 - (5 / 6) ** 4:.2f}",
    "stats-bayes-screening": bayes,
    "stats-variance-scaling": lambda: str(
        round(float(np.var(3 * np.array([-2.0, 2.0]) + 5)))  # X = +-2 has variance 4
    ),
    "stats-expected-flips": lambda: str(round(sum(k * 0.5**k for k in range(1, 200)))),
    "stats-birthday-problem": smallest_birthday_group,
    "stats-zero-correlation": y_equals_x_squared_correlation,
    "la-matmul-shape": lambda: "x".join(map(str, (np.ones((3, 4)) @ np.ones((4, 2))).shape)),
    "la-dot-product": lambda: str(int(np.dot([1, 2, 3], [4, 5, 6]))),
    "la-determinant-2x2": lambda: str(round(np.linalg.det([[2, 1], [4, 3]]))),
    "la-singular-matrix": lambda: (
        f"Rank {np.linalg.matrix_rank([[1, 2], [2, 4]])}, "
        + ("invertible" if round(np.linalg.det([[1, 2], [2, 4]]), 9) else "not invertible")
    ),
    "la-orthogonal-vectors": lambda: next(
        str(v).replace(" ", ", ").replace(",,", ",")
        for v in ([-2, 1], [2, 1], [1, 2], [2, 4])
        if np.dot([1, 2], v) == 0
    ),
    "la-diagonal-eigenvalues": lambda: " and ".join(
        str(int(v)) for v in sorted(np.linalg.eigvals([[2, 0], [0, 3]]))
    ),
    "la-vector-norm": lambda: str(int(np.linalg.norm([3, 4]))),
    "np-broadcast-shape": lambda: str((np.zeros((3, 1)) + np.zeros((1, 4))).shape),
    "np-slice-is-view": lambda: printed(snippet("np-slice-is-view")),
    "np-sum-axis": lambda: str(np.array([[1, 2], [3, 4]]).sum(axis=0)),
    "np-nan-not-equal": lambda: str(np.nan == np.nan),
    "np-true-division": lambda: (
        "Floating point" if (np.array([1, 2, 3]) / 2).dtype.kind == "f" else "Integer"
    ),
    "ml-precision-from-counts": lambda: f"{40 / (40 + 10):.2f}",
    "ml-recall-from-counts": lambda: f"About {40 / (40 + 20):.2f}",
    "ml-f1-score": lambda: f"About {2 * 0.5 * 1.0 / 1.5:.2f}",
    "ml-sigmoid-at-zero": lambda: str(sigmoid(0)),
    "ml-log-loss-half": lambda: f"About {-math.log(0.5):.3f}",
    "pd-loc-vs-iloc": pandas_rows,
    "pd-mean-skips-nan": pandas_mean,
    "pd-groupby-sum": pandas_groupby,
    "pd-inner-merge": pandas_merge,
    "dl-relu-negative": lambda: str(max(0, -3)),
    "dl-conv-output-size": conv_output,
    "dl-linear-parameters": linear_params,
    "dl-softmax-sum": lambda: str([round(p, 2) for p in softmax([2, 2, 2, 2])]),
    "dl-steps-per-epoch": lambda: str(10_000 // 100),
    "tf-head-dimension": lambda: str(512 // 8),
    "rag-cosine-orthogonal": lambda: str(
        int(np.dot([1, 0], [0, 1]) / (np.linalg.norm([1, 0]) * np.linalg.norm([0, 1])))
    ),
    "llm-context-window": lambda: f"About {16_000 - 15_500} tokens",
    "pd-chained-assignment": lambda: pandas_snippet("pd-chained-assignment"),
    "pd-value-counts-share": pandas_share,
    "pd-dropna-rows": pandas_dropna,
    "np-argmax-flat": lambda: str(np.argmax(np.array([[1, 9], [7, 3]]))),
    "np-reshape-minus-one": lambda: str(np.arange(12).reshape(3, -1).shape),
    "stats-standard-error": lambda: str(round(20 / math.sqrt(100))),
    "stats-mle-coin": mle_heads,
    "stats-halve-interval": lambda: f"About {round((1 / 0.5) ** 2)} times as much",
    "cv-conv-parameters": lambda: str(16 * (3 * 3 * 3) + 16),
    "cv-max-pool-shape": max_pool_shape,
    "cv-receptive-field": receptive_field,
    "dl-keras-steps": lambda: str(math.ceil(1_000 / 32)),
    "llm-token-cost": token_cost,
    "nlp-embedding-analogy": word_analogy,
    "cv-iou": lambda: f"About {iou((0, 0, 4, 4), (2, 2, 6, 6)):.2f}",
    "cv-int8-size": lambda: f"About {25_000_000 * 1 // 1_000_000} MB",
}


def test_the_convolution_savings_quoted_are_right() -> None:
    prompt = BANK["cv-weight-sharing"].prompt
    dense = 224 * 224 * 3 * 64
    conv = 64 * (3 * 3 * 3 + 1)
    assert f"about {dense / 1e6:.1f} million weights" in prompt
    assert f"needs {conv:,} parameters" in prompt


@pytest.mark.parametrize("challenge_id", sorted(CHECKS))
def test_correct_option_matches_the_computed_answer(challenge_id: str) -> None:
    challenge = BANK[challenge_id]
    assert challenge.correct_option == CHECKS[challenge_id]()


@pytest.mark.parametrize("challenge_id", sorted(CHECKS))
def test_no_other_option_matches_the_computed_answer(challenge_id: str) -> None:
    expected = CHECKS[challenge_id]()
    others = [
        o for i, o in enumerate(BANK[challenge_id].options) if i != BANK[challenge_id].correct_index
    ]
    assert expected not in others


def exact_value(option: str) -> Fraction | None:
    """The number an option states exactly ("2/3", "Exactly 4/6", "1,290"), else None."""
    text = option.removeprefix("Exactly ").replace(",", "")
    try:
        return Fraction(text)
    except ValueError:
        return None


@pytest.mark.parametrize("challenge_id", sorted(c.id for c in BANK.values() if c.options))
def test_no_two_options_state_the_same_number(challenge_id: str) -> None:
    values = [v for v in map(exact_value, BANK[challenge_id].options) if v is not None]
    assert len(values) == len(set(values)), BANK[challenge_id].options
