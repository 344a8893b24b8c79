"""The routes file: the default reproduces the seed system; a broken file names the file and the field."""

from pathlib import Path

import pytest
import yaml
from anthropic._data.deprecated_models import DEPRECATED_MODELS

from router.config import EscalationRule
from router.errors import ConfigError
from router.models import Usage
from router.routes_file import default_routes_path, load_routes


def test_default_routes_reproduce_the_seed_system() -> None:
    routes = load_routes()
    assert routes.names == ["General Question", "Refund Request", "Technical Support"]
    assert routes.classifier.confidence_threshold == 0.7
    assert all(len(c.examples) >= 15 for c in routes.categories)
    tiers = {c.name: c.handler.model for c in routes.categories}
    assert "haiku" in routes.classifier.model and "haiku" in tiers["General Question"]
    assert "sonnet" in tiers["Refund Request"] and "sonnet" in tiers["Technical Support"]
    refund_prompt = routes.category("Refund Request").handler.system_prompt
    assert "Never promise" in refund_prompt


def test_default_models_are_current_and_priced() -> None:
    routes = load_routes()
    models = {routes.classifier.model} | {c.handler.model for c in routes.categories}
    assert not models & set(DEPRECATED_MODELS), "the default routes file uses a deprecated model"
    assert models <= set(routes.prices)


def test_version_is_a_hash_of_the_file(tmp_path: Path) -> None:
    text = default_routes_path().read_text()
    copy = tmp_path / "routes.yml"
    copy.write_text(text)
    assert load_routes(copy).version == load_routes().version
    copy.write_text(text.replace("confidence_threshold: 0.7", "confidence_threshold: 0.8"))
    assert load_routes(copy).version != load_routes().version


def _broken(tmp_path: Path, mutate) -> str:
    data = yaml.safe_load(default_routes_path().read_text())
    mutate(data)
    path = tmp_path / "routes.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_routes(path)
    return str(info.value)


def test_a_bad_threshold_names_file_and_field(tmp_path: Path) -> None:
    message = _broken(tmp_path, lambda d: d["categories"][1]["escalation"].update(threshold=1.5))
    assert str(tmp_path / "routes.yml") in message
    assert "categories[1] (Refund Request).escalation.threshold" in message
    assert "less than or equal to 1" in message


def test_a_misspelt_key_is_an_error_not_ignored(tmp_path: Path) -> None:
    message = _broken(tmp_path, lambda d: d["classifier"].update(confidance_threshold=0.5))
    assert "classifier.confidance_threshold" in message and "unknown field" in message


def test_a_missing_field_and_a_duplicate_category(tmp_path: Path) -> None:
    message = _broken(tmp_path, lambda d: d["categories"][0]["handler"].pop("model"))
    assert "categories[0] (General Question).handler.model: required field is missing" in message
    message = _broken(tmp_path, lambda d: d["categories"].append(dict(d["categories"][0])))
    assert "appears twice" in message


def test_a_category_name_too_long_for_the_agents_menu_is_refused(tmp_path: Path) -> None:
    long_name = "Refunds for orders delivered damaged, late or incomplete, and for duplicate card charges"
    message = _broken(tmp_path, lambda d: d["categories"][1].update(name=long_name))
    assert "categories[1]" in message and ".name: 88 characters, at most 75" in message
    assert "shorten the name" in message


def test_a_key_given_twice_is_refused_not_last_wins(tmp_path: Path) -> None:
    # An operator appends a second `categories:` block for a new category: plain YAML loading would keep
    # only that one and drop the shipped categories without a word.
    shipped = default_routes_path().read_text()
    path = tmp_path / "routes.yml"
    path.write_text(
        shipped + "categories:\n  - name: Account Access\n    description: Sign-in problems\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_routes(path)
    second = len(shipped.splitlines()) + 1
    first = shipped.splitlines().index("categories:") + 1
    assert str(info.value) == (
        f"{path}: not valid YAML at line {second}, column 1: key 'categories' appears twice (first at "
        f"line {first}); keep one: YAML does not merge them, the second would silently replace the first"
    )


def test_a_field_given_twice_inside_a_category_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "routes.yml"
    text = default_routes_path().read_text()
    path.write_text(text.replace("    offline_reply:", "    offline_reply: first\n    offline_reply:", 1))
    with pytest.raises(
        ConfigError,
        match=r"routes.yml: not valid YAML at line \d+, column 5: key "
        r"'offline_reply' appears twice",
    ):
        load_routes(path)


def test_yaml_merge_keys_may_still_be_overridden(tmp_path: Path) -> None:
    # `<<: *anchor` followed by the key it overrides is how YAML shares defaults, not a duplicate.
    path = tmp_path / "routes.yml"
    text = default_routes_path().read_text().replace("classifier:\n", "classifier: &c\n", 1)
    path.write_text(text + "extra: {<<: *c, model: other}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"extra: unknown field"):  # parsed: only the schema objects
        load_routes(path)


def test_unpriced_model_and_bad_rule(tmp_path: Path) -> None:
    message = _broken(tmp_path, lambda d: d["categories"][0]["handler"].update(model="claude-opus-5"))
    assert "claude-opus-5" in message and "prices" in message
    message = _broken(tmp_path, lambda d: d["categories"][0]["escalation"].update(rule="sometimes"))
    assert "escalation.rule" in message


def test_an_escalation_may_be_written_as_its_rule_or_its_threshold_alone(tmp_path: Path) -> None:
    data = yaml.safe_load(default_routes_path().read_text())
    data["categories"][1]["escalation"] = "always"
    data["categories"][2]["escalation"] = 0.8
    path = tmp_path / "routes.yml"
    path.write_text(yaml.safe_dump(data))
    routes = load_routes(path)
    assert routes.categories[1].escalation.rule == "always"
    assert (routes.categories[2].escalation.rule, routes.categories[2].escalation.threshold) == (
        "threshold",
        0.8,
    )
    message = _broken(tmp_path, lambda d: d["categories"][0].update(escalation="sometimes"))
    assert "categories[0] (General Question).escalation.rule" in message


def test_local_model_settings_that_cannot_work_are_refused(tmp_path: Path) -> None:
    # Only the weights inside wordllama's wheel can load (nothing is downloaded): a width it does not
    # ship would otherwise end the start in a traceback from deep inside wordllama.
    message = _broken(tmp_path, lambda d: d["classifier"]["local"].update(dim=512))
    assert "classifier.local" in message and "dim 512" in message and "use embedding l2_supercat" in message
    message = _broken(tmp_path, lambda d: d["classifier"]["local"].update(k=5))
    assert "k is no longer used" in message and "remove it" in message


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "routes.yml"
    path.write_text("classifier: [unclosed\n")
    with pytest.raises(ConfigError, match=r"routes.yml: not valid YAML at line \d+"):
        load_routes(path)
    with pytest.raises(ConfigError, match=r"missing\.yml: cannot read the routes file: .*ROUTES_FILE"):
        load_routes(tmp_path / "missing.yml")


def test_a_file_not_saved_as_utf8_names_the_byte_and_the_fix(tmp_path: Path) -> None:
    # An editor that saved the file as Latin-1 (é is one byte, 0xe9) or UTF-16: one line, no traceback.
    path = tmp_path / "routes.yml"
    text = default_routes_path().read_text().replace("a member of our support team", "l'équipe support")
    path.write_bytes(text.encode("latin-1"))
    offset = text.encode("latin-1").index(b"\xe9")
    with pytest.raises(ConfigError) as info:
        load_routes(path)
    assert str(info.value) == (
        f"{path}: not UTF-8 text: byte 0xe9 at offset {offset} cannot be read; save it as UTF-8"
    )
    path.write_bytes(text.encode("utf-16"))
    with pytest.raises(
        ConfigError, match=r"offset 0 cannot be read \(it looks like UTF-16\); save it as UTF-8"
    ):
        load_routes(path)


def test_rules_parse_and_costs_add_up() -> None:
    routes = load_routes()
    assert routes.category("General Question").escalation.rule is EscalationRule.THRESHOLD
    usage = Usage(input_tokens=1_000_000, output_tokens=200_000, cache_read_tokens=1_000_000)
    # haiku: 1.0 in, 5.0 out, 0.1 cache read per million tokens.
    assert routes.cost("claude-haiku-5-5", usage) == pytest.approx(1.0 + 1.0 + 0.1)
    assert routes.cost("unknown-model", usage) == 0.0


@pytest.mark.parametrize(
    ("mutate", "field", "hint"),
    [
        (
            lambda d: d["classifier"].update(confidence_threshold=70),
            "classifier.confidence_threshold",
            "0.7 for 70 %",
        ),
        (
            lambda d: d["classifier"].update(confidence_threshold="70%"),
            "classifier.confidence_threshold",
            "0.7 for 70 %",
        ),
        (lambda d: d["categories"][1].update(escalation=75), "escalation.threshold", "0.75 for 75 %"),
        (
            lambda d: d["classifier"]["local"].update(accept_threshold=-1),
            "local.accept_threshold",
            "0.7 for 70 %",
        ),
    ],
    ids=["percent", "percent-sign", "shorthand", "negative"],
)
def test_a_threshold_written_as_a_percentage_is_told_to_be_a_fraction(
    tmp_path: Path, mutate, field: str, hint: str
) -> None:
    message = _broken(tmp_path, mutate)
    [line] = [line for line in message.splitlines() if field in line]
    assert line.endswith(f"; write it as a fraction between 0 and 1: {hint}")


def test_a_line_indented_wrong_is_pointed_at_with_the_fix(tmp_path: Path) -> None:
    # `handler:` two spaces short of its category's other fields: PyYAML says only "expected <block end>".
    path = tmp_path / "routes.yml"
    text = default_routes_path().read_text().replace("    handler:\n", "  handler:\n", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_routes(path)
    assert "expected <block end>, but found '?'" in str(info.value)
    assert str(info.value).endswith("; check this line's indentation against the lines above")
    path.write_text(
        default_routes_path().read_text().replace("  confidence_threshold", "\tconfidence_threshold")
    )
    with pytest.raises(ConfigError) as info:
        load_routes(path)
    assert str(info.value).endswith("; indent with spaces: YAML does not accept tabs")


@pytest.mark.parametrize("style", [">-", "|"])
def test_fields_swallowed_by_a_text_indented_too_deep_are_refused(tmp_path: Path, style: str) -> None:
    """`escalation:` indented like the offline reply's lines above it is read as more of that reply: the
    customer would be shown "… escalation: rule: threshold threshold: 0.75" and the category's threshold
    silently fall back to the classifier's."""
    text = default_routes_path().read_text()
    shipped = "    escalation:\n      rule: threshold\n      threshold: 0.75\n"
    assert shipped in text
    text = text.replace(shipped, "      escalation:\n        rule: threshold\n        threshold: 0.75\n", 1)
    path = tmp_path / "routes.yml"
    path.write_text(
        text.replace("    offline_reply: >-\n", f"    offline_reply: {style}\n"), encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        load_routes(path)
    assert "categories[1] (Refund Request).offline_reply: holds" in str(info.value)
    assert "holds 'escalation: rule:'" in str(info.value) and "indented too deep" in str(info.value)


def test_prose_that_merely_mentions_a_field_name_is_accepted(tmp_path: Path) -> None:
    text = (
        default_routes_path()
        .read_text()
        .replace(
            "We can't confirm an amount or a date",
            "Our escalation: a person. Model: any. We can't confirm an amount or a date",
            1,
        )
    )
    path = tmp_path / "routes.yml"
    path.write_text(text, encoding="utf-8")
    assert "Model: any." in load_routes(path).category("Refund Request").offline_reply


def test_a_blank_system_prompt_is_refused_at_load(tmp_path: Path) -> None:
    """The Messages API answers 400 to a system prompt of whitespace alone ("text content blocks must
    contain non-whitespace text"): loaded, it would fail every answer of its category, each customer
    escalated instead of answered."""
    text = default_routes_path().read_text()
    start = text.index("      system_prompt: >-\n")
    end = text.index("\n    offline_reply:", start)
    path = tmp_path / "routes.yml"
    path.write_text(text[:start] + '      system_prompt: "  \\n "' + text[end:], encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_routes(path)
    assert "categories[0] (General Question).handler.system_prompt: is blank" in str(info.value)
