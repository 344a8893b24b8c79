"""The local classifier: offline load, sensible predictions, probability-like confidence, learning bound."""

import numpy as np
import pytest
from scipy import optimize, sparse

from router.classifiers.features import restrict
from router.classifiers.local import LocalClassifier, fit_confidence, load_wordllama
from router.classifiers.svm import fit_linear_svm
from router.config import LocalModelConfig
from router.models import Classification, Source
from router.routes_file import load_routes

EXAMPLES = {
    "Refund Request": [
        "I want a refund for my order",
        "please give me my money back",
        "I was charged twice, refund me",
        "how do I get a refund for my subscription",
        "return this item and refund my card",
        "cancel and refund my purchase",
    ],
    "Technical Support": [
        "the app crashes when I open it",
        "I cannot log in to my account",
        "my password reset email never came",
        "the website shows an error 500",
        "sync is broken on my phone",
        "the export button does nothing",
    ],
    "General Question": [
        "what are your opening hours",
        "do you ship to Canada",
        "where is your office",
        "do you offer student discounts",
        "which payment methods do you accept",
        "how long does delivery take",
    ],
}


@pytest.fixture(scope="module")
def classifier() -> LocalClassifier:
    return LocalClassifier(EXAMPLES, LocalModelConfig())


def test_model_loads_offline_once() -> None:
    assert load_wordllama("l2_supercat", 256) is load_wordllama("l2_supercat", 256)


def test_embeddings_are_wordllamas_to_the_bit() -> None:
    # The token table stays float16 (half the memory); the rows a text uses are widened exactly.
    from pathlib import Path

    import wordllama

    model = load_wordllama("l2_supercat", 256)
    assert model.table.dtype == np.float16
    reference = wordllama.WordLlama.load(
        "l2_supercat", dim=256, cache_dir=Path(wordllama.__file__).parent, disable_download=True
    )
    texts = ["", "hi", "I was charged twice, refund me", "héllo wörld ✓ 😀", "x " * 400]
    texts += [f"message {i} about my order number {i * 7919}" for i in range(70)]  # more than one batch
    assert np.array_equal(model.embed(texts), reference.embed(texts))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I need a refund, you charged me twice", "Refund Request"),
        ("the app keeps crashing on login", "Technical Support"),
        ("what time do you open on Saturday?", "General Question"),
    ],
)
def test_predicts_clear_messages(classifier: LocalClassifier, text: str, expected: str) -> None:
    result = classifier.predict(text)
    assert result.category == expected
    assert result.source is Source.LOCAL
    assert result.model == "wordllama:l2_supercat-256"
    assert result.reasoning.startswith(f"Closest to the {expected} example")


def test_confidences_are_probabilities(classifier: LocalClassifier) -> None:
    for result in classifier.predict_many(["refund please", "zzzz qqqq", "hello"]):
        assert 0.0 <= result.confidence <= 1.0


@pytest.mark.parametrize("text", ["hello", "asdfgh", "hi there", "thanks!", "ok", "qwerty uiop zxcv"])
def test_far_from_every_example_is_not_confident(text: str) -> None:
    # The bot escalates under 0.7: greetings and gibberish must land there, not on a confident category.
    local = LocalClassifier.from_routes(load_routes())
    assert local.predict(text).confidence < 0.5


def test_clear_messages_are_confident() -> None:
    local = LocalClassifier.from_routes(load_routes())
    for text in ("I was charged twice, please refund me", "the app crashes every time I log in"):
        assert local.predict(text).confidence > 0.7


def test_cross_validated_predictions_hold_out_categories(classifier: LocalClassifier) -> None:
    folds = classifier.cross_validated()
    assert folds is not None
    assert folds.unknown.any() and (~folds.unknown).any()
    assert not (folds.right & folds.unknown).any()
    assert ((folds.confidence >= 0.0) & (folds.confidence <= 1.0)).all()


def test_out_of_scope_examples_are_not_a_category() -> None:
    local = LocalClassifier(EXAMPLES, LocalModelConfig(), out_of_scope=["what is the weather on mars"])
    assert local.categories == list(EXAMPLES)
    folds = local.cross_validated()
    assert folds is not None
    assert folds.unknown.sum() > len(EXAMPLES["General Question"])  # held-out categories and the extra one


def test_empty_text_gets_low_confidence(classifier: LocalClassifier) -> None:
    for text in ("", "   \n"):
        result = classifier.predict(text)
        assert isinstance(result, Classification)
        assert result.confidence == pytest.approx(1 / 3)
        assert "empty" in result.reasoning


async def test_classify_protocol(classifier: LocalClassifier) -> None:
    result = await classifier.classify("refund my order")
    assert result.category == "Refund Request"


def test_predict_many_matches_predict(classifier: LocalClassifier) -> None:
    texts = ["refund my order", "cannot log in"]
    assert [r.category for r in classifier.predict_many(texts)] == [
        classifier.predict(t).category for t in texts
    ]
    assert classifier.predict_many([]) == []


def test_add_examples_keeps_newest_within_bound() -> None:
    local = LocalClassifier(EXAMPLES, LocalModelConfig(max_learned_per_category=3))
    local.add_examples("General Question", [f"question number {i}" for i in range(10)])
    learned = local.examples("General Question")[len(EXAMPLES["General Question"]) :]
    assert learned == ["question number 7", "question number 8", "question number 9"]
    with pytest.raises(ValueError, match="unknown category"):
        local.add_examples("Billing", ["x"])


def test_learning_changes_predictions() -> None:
    local = LocalClassifier(EXAMPLES, LocalModelConfig())
    text = "my parcel from the warehouse is late"
    local.add_examples("Technical Support", ["my parcel is late", "the warehouse parcel is late"] * 5)
    learnt = local.predict(text)
    assert learnt.category == "Technical Support"
    # A learned example is another customer's words: the reasoning (shown in escalations) never quotes it.
    assert learnt.reasoning.startswith("Closest to a message routed to Technical Support before")
    assert "parcel" not in learnt.reasoning


def test_from_routes_uses_every_category() -> None:
    routes = load_routes()
    local = LocalClassifier.from_routes(routes)
    assert local.categories == routes.names
    assert local.predict("I want my money back").category in routes.names


def test_rejects_categories_without_examples() -> None:
    with pytest.raises(ValueError, match="Empty"):
        LocalClassifier({"Empty": ["  "], "Other": ["x"]}, LocalModelConfig())


def test_single_category() -> None:
    only = LocalClassifier({"General Question": ["hello there", "what is this"]}, LocalModelConfig())
    assert only.predict("hello").category == "General Question"


def test_fit_confidence_learns_the_direction() -> None:
    features = np.array([[2.0], [1.5], [1.0], [-1.0], [-1.5], [0.5], [-0.5]])
    right = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0])
    weights = fit_confidence(features, right, np.ones(len(right)))
    assert weights.shape == (2,)
    assert weights[0] > 0


def _svm_objective(weights: np.ndarray, x: np.ndarray, y: np.ndarray, c: float) -> float:
    """0.5·||w||² + c·Σ squared hinge, bias as a regularised constant feature (liblinear's LinearSVC)."""
    xb = np.c_[x, np.ones(len(x))]
    margins = xb @ weights.reshape(xb.shape[1], -1)
    return float(0.5 * np.sum(weights**2) + c * np.sum(np.maximum(1 - y * margins, 0) ** 2))


def test_linear_svm_reaches_the_squared_hinge_optimum() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 60)
    grams = sparse.random(60, 40, density=0.2, random_state=1, dtype=np.float32).tocsr()
    dense = rng.normal(size=(60, 5)).astype(np.float32) + labels[:, None]
    gram_w, dense_w, bias = fit_linear_svm(grams, dense, labels, 3, c=1.0)
    x = np.c_[grams.toarray(), dense]
    y = np.where(labels[:, None] == np.arange(3), 1.0, -1.0)
    ours = _svm_objective(np.r_[gram_w, dense_w, bias[None, :]].ravel(), x, y, 1.0)
    best = optimize.minimize(_svm_objective, np.zeros(46 * 3), args=(x, y, 1.0), method="L-BFGS-B")
    assert ours <= best.fun * 1.001
    assert np.mean(np.argmax(x @ np.r_[gram_w, dense_w] + bias, axis=1) == labels) > 0.9


def test_restricted_rows_drop_unknown_ngrams_and_renormalise() -> None:
    matrix = sparse.csr_matrix(np.array([[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32))
    rows = restrict(matrix, np.array([True, False, False]))
    assert rows[0][0].tolist() == [0] and np.allclose(rows[0][1], [1.0])
    assert len(rows[1][0]) == 0
