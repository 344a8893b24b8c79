"""Claude's Markdown reads in Slack as it was meant: the exact mrkdwn a customer's client receives."""

import re

import pytest

from bot.mrkdwn import markdown_to_mrkdwn
from bot.mrkdwn_inline import escape

LIVE = re.compile(r"<!(channel|here|everyone)[|>]|<@[A-Z0-9]+[|>]|(?<![\w@\u2060])@(channel|here)\b", re.I)


@pytest.mark.parametrize(
    ("markdown", "slack"),
    [
        pytest.param("***both***", "*_both_*", id="bold-italic"),
        pytest.param("**a *b* c** and *a **b** c*", "*a _b_ c* and _a *b* c_", id="nested-emphasis"),
        pytest.param("***a** b*", "_*a* b_", id="bold-inside-italic"),
        # Slack cannot nest a mark in itself: "*a *b* c*" would show stray stars, so the inner one goes.
        pytest.param("**a **b** c** and _x *y* z_", "*a b c* and _x y z_", id="same-kind-nested"),
        pytest.param("__bold__ and _italic_.", "*bold* and _italic_.", id="underscore-emphasis"),
        pytest.param(
            "Edit __init__.py, my_var_name and config_file_path.",
            "Edit __init__.py, my_var_name and config_file_path.",
            id="underscores-inside-words",
        ),
        pytest.param("see https://x.io/_a_/b", "see https://x.io/_a_/b", id="underscores-in-a-url"),
        pytest.param("2 * 3 * 4 = 24", "2 * 3 * 4 = 24", id="lone-asterisks"),
        pytest.param("~~old~~ new", "~old~ new", id="strike"),
        # Slack has no escape: a literal mark is fenced by zero-width spaces so that it cannot pair.
        pytest.param(r"\*not bold\*", "\u200b*\u200bnot bold\u200b*\u200b", id="backslash-escapes"),
        pytest.param(
            r"\_x\_ and \~\~y\~\~ \#1",
            "\u200b_\u200bx\u200b_\u200b and \u200b~\u200b\u200b~\u200by\u200b~\u200b\u200b~\u200b #1",
            id="escaped-marks",
        ),
    ],
)
def test_emphasis(markdown: str, slack: str) -> None:
    assert markdown_to_mrkdwn(markdown) == slack


@pytest.mark.parametrize(
    ("markdown", "slack"),
    [
        pytest.param("## **X**", "*X*", id="bold-in-heading"),
        pytest.param("## Step **1**: *install*", "*Step 1: _install_*", id="mixed-heading"),
        pytest.param("# Title #\n### C#", "*Title*\n*C#*", id="closing-hashes"),
        pytest.param("#hashtag", "#hashtag", id="not-a-heading"),
        pytest.param("Setup\n=====\n\nRun it.", "*Setup*\n\nRun it.", id="setext-heading"),
        pytest.param("Step **2**\n---\nThen", "*Step 2*\nThen", id="setext-heading-2"),
        pytest.param("- item\n---\n\n---", "• item\n──────────\n\n──────────", id="rules-not-headings"),
    ],
)
def test_headings_become_bold_lines(markdown: str, slack: str) -> None:
    assert markdown_to_mrkdwn(markdown) == slack


def test_a_block_quote_stays_a_quote_and_other_angle_brackets_are_escaped() -> None:
    assert markdown_to_mrkdwn("> quote") == "> quote"
    assert markdown_to_mrkdwn("> **Note:** a > b\n>> nested\nif x > 1 then") == (
        "> *Note:* a &gt; b\n> nested\nif x &gt; 1 then"
    )
    assert markdown_to_mrkdwn("> - one\n>\n> # Title") == "> • one\n\n> *Title*"
    assert markdown_to_mrkdwn(">  > deep") == "> deep"


def test_a_quote_cannot_assemble_a_mention() -> None:
    out = markdown_to_mrkdwn("<!here\n> hi\n<@U123\n>")
    assert out == "&lt;!here\n> hi\n&lt;@U123\n"
    assert not LIVE.search(out)


@pytest.mark.parametrize(
    ("markdown", "slack"),
    [
        pytest.param(
            "[docs](https://en.wikipedia.org/wiki/Foo_(bar))",
            "<https://en.wikipedia.org/wiki/Foo_(bar)|docs>",
            id="parentheses-in-url",
        ),
        pytest.param(
            "([docs](https://x.io/a_(b)_c)).", "(<https://x.io/a_(b)_c|docs>).", id="link-in-parentheses"
        ),
        pytest.param("[Help](https://x.io/a?b=1&c=2)", "<https://x.io/a?b=1&amp;c=2|Help>", id="ampersand"),
        pytest.param('[**Guide**](https://x.io "Title")', "<https://x.io|*Guide*>", id="title-and-bold"),
        pytest.param("![chart](https://x.io/c.png)", "<https://x.io/c.png|chart>", id="image"),
        pytest.param("<https://x.io/a>", "<https://x.io/a>", id="autolink"),
        pytest.param("[mail](mailto:help@x.io)", "<mailto:help@x.io|mail>", id="mailto"),
        pytest.param("[x](https://x.io/a|b)", "<https://x.io/a%7Cb|x>", id="pipe-in-url"),
        pytest.param("[file](/docs/a.md)", "[file](/docs/a.md)", id="relative-stays-text"),
    ],
)
def test_links(markdown: str, slack: str) -> None:
    assert markdown_to_mrkdwn(markdown) == slack


def test_a_link_label_cannot_ping() -> None:
    assert markdown_to_mrkdwn("[@here](https://x.io)") == "<https://x.io|@\u2060here>"


@pytest.mark.parametrize(
    ("markdown", "slack"),
    [
        pytest.param("1. step\n2. next", "1. step\n2. next", id="numbered"),
        pytest.param("1. a\n1. b\n1. c", "1. a\n2. b\n3. c", id="lazy-numbering"),
        pytest.param("3) c\n4) d", "3. c\n4. d", id="start-and-parenthesis"),
        pytest.param("* item\n*italic* text", "• item\n_italic_ text", id="star-bullet-vs-italic"),
        pytest.param("* *italic* item", "• _italic_ item", id="italic-in-a-bullet"),
        pytest.param(
            "- a\n  - b\n    - c\n  - d\n- e",
            "• a\n    ◦ b\n        ▪ c\n    ◦ d\n• e",
            id="nested-bullets",
        ),
        pytest.param(
            "1. Install\n   - run `pip install x`\n2. Start",
            "1. Install\n    ◦ run `pip install x`\n2. Start",
            id="bullets-under-a-step",
        ),
        pytest.param("1. a\n\n   more\n\n2. b", "1. a\n\n   more\n\n2. b", id="loose-list"),
        pytest.param("1. a\n\nText\n\n1. b", "1. a\n\nText\n\n1. b", id="new-list-after-text"),
        pytest.param("- [ ] todo\n- [x] done", "• ☐ todo\n• ☑ done", id="task-list"),
        pytest.param("---\n* * *", "──────────\n──────────", id="rules-are-not-bullets"),
    ],
)
def test_lists(markdown: str, slack: str) -> None:
    assert markdown_to_mrkdwn(markdown) == slack


def test_a_step_list_keeps_counting_across_a_code_block() -> None:
    markdown = "1. Open a shell:\n```\ncd app\n```\n1. Run it"
    assert markdown_to_mrkdwn(markdown) == "1. Open a shell:\n```\ncd app\n```\n2. Run it"


def test_a_table_becomes_an_aligned_code_block() -> None:
    markdown = (
        "Plans:\n\n| Plan | Price | Notes |\n|:-----|------:|:---:|\n"
        "| **Pro** | $10 | `a<b` |\n| Free | 0 | [see](https://x.io) |\n\nDone."
    )
    assert markdown_to_mrkdwn(markdown) == (
        "Plans:\n\n```\n"
        "Plan | Price |       Notes\n"
        "-----+-------+-------------------\n"
        "Pro  |   $10 |        a&lt;b\n"
        "Free |     0 | see (https://x.io)\n"
        "```\n\nDone."
    )


def test_pipes_without_a_delimiter_row_are_plain_text() -> None:
    assert markdown_to_mrkdwn("a | b\nc | d") == "a | b\nc | d"


@pytest.mark.parametrize(
    ("markdown", "slack"),
    [
        pytest.param(
            "use `a < b && **x**` here", "use `a &lt; b &amp;&amp; **x**` here", id="code-span-verbatim"
        ),
        pytest.param("``a ` b`` and *c*", "``a ` b`` and _c_", id="double-backtick-span"),
        pytest.param(
            "```python\nif a < b: **x** # _y_\n```",
            "```\nif a &lt; b: **x** # _y_\n```",
            id="fenced-block-verbatim-without-its-language-name",
        ),
        pytest.param("```\nls -la\n```", "```\nls -la\n```", id="fenced-block-without-a-language"),
        pytest.param(
            "Install it:\n\n```bash\n# the deps\npip install x\nrun(**kw)\n- not a list",
            "Install it:\n\n```\n# the deps\npip install x\nrun(**kw)\n- not a list\n```",
            id="answer-cut-off-inside-a-code-block-stays-code-and-is-closed",
        ),
        pytest.param(
            "~~~python\n# note\nx = a**b**c\n~~~\nthen *run* it",
            "```\n# note\nx = a**b**c\n```\nthen _run_ it",
            id="tilde-fence-is-code",
        ),
        pytest.param(
            "Speeds of 10 ~~~ 20 MB/s\n\n## Next\n- **Restart**",
            "Speeds of 10 ~~~ 20 MB/s\n\n*Next*\n• *Restart*",
            id="tildes-mid-line-are-no-fence",
        ),
        pytest.param(
            "Paste it like ``` then save.\n\n## Next\n- *go*",
            "Paste it like \u200b`\u200b\u200b`\u200b\u200b`\u200b then save.\n\n*Next*\n• _go_",
            id="a-lone-fence-mid-line-is-text",
        ),
        pytest.param(
            "Wrap it in triple backticks (```) like this:\n\n```python\nrun(**kw)\n\nexit()\n```\n\n"
            "Then **save**.",
            # Backticks no span closes are fenced by zero-width spaces: Slack would pair them with a fence.
            "Wrap it in triple backticks (\u200b`\u200b\u200b`\u200b\u200b`\u200b) like this:\n\n"
            "```\nrun(**kw)\n\nexit()\n```\n\nThen *save*.",
            id="backticks-named-mid-line-before-a-code-block",
        ),
        pytest.param(
            "10. Install:\n    ```python\n    import x\n\n    run(**kw)\n    ```\n11. Done",
            "10. Install:\n```\nimport x\n\nrun(**kw)\n```\n11. Done",
            id="code-block-with-a-blank-line-under-a-step",
        ),
        pytest.param("## Use `x_y_z`", "*Use `x_y_z`*", id="code-in-heading"),
        pytest.param("- `*` is *glob*", "• `*` is _glob_", id="code-in-a-bullet"),
        pytest.param("Run ```ls``` - then *go*", "Run ```ls``` - then _go_", id="fence-mid-line"),
    ],
)
def test_code_is_kept_verbatim_and_only_escaped(markdown: str, slack: str) -> None:
    assert markdown_to_mrkdwn(markdown) == slack


def test_slack_control_characters_are_escaped_and_mentions_defused() -> None:
    out = markdown_to_mrkdwn("**<!here>** & <@U1> `<!channel>` @everyone")
    assert out == "*&lt;!here&gt;* &amp; &lt;@U1&gt; `&lt;!channel&gt;` @\u2060everyone"
    assert not LIVE.search(out)


def test_escape() -> None:
    assert escape("a < b & c > d") == "a &lt; b &amp; c &gt; d"


@pytest.mark.parametrize(
    ("markdown", "slack"),
    [
        # Markdown's entities are the characters they name; Slack would show "&amp;" as it is written.
        pytest.param("R&amp;D &lt;b&gt; &copy; &#39;q&#39;", "R&amp;D &lt;b&gt; © 'q'", id="entities"),
        pytest.param("AT&T, &parameter=1, a & b", "AT&amp;T, &amp;parameter=1, a &amp; b", id="not-entities"),
        pytest.param(
            "`&amp;` and ```\n&lt;\n```", "`&amp;amp;` and ```\n&amp;lt;\n```", id="code-is-verbatim"
        ),
        pytest.param("&#42;not bold&#42;", "\u200b*\u200bnot bold\u200b*\u200b", id="entity-of-a-mark"),
        pytest.param("[a](https://x.io/?a=1&amp;b=2)", "<https://x.io/?a=1&amp;b=2|a>", id="entity-in-a-url"),
        pytest.param("&lt;!here&gt; &#64;channel", "&lt;!here&gt; @\u2060channel", id="entities-cannot-ping"),
    ],
)
def test_html_entities_read_as_characters_outside_code(markdown: str, slack: str) -> None:
    assert markdown_to_mrkdwn(markdown) == slack


def test_an_email_in_angle_brackets_is_a_mail_link() -> None:
    assert markdown_to_mrkdwn("Write to <help@x.io>.") == "Write to <mailto:help@x.io|help@x.io>."


def test_a_code_block_under_a_numbered_step_loses_the_steps_indentation() -> None:
    markdown = (
        "1. Install:\n   ```bash\n   npm install\n     --save x\n   ```\n"
        "2. Start:\n   ```\n   npm start\n   ```"
    )
    assert markdown_to_mrkdwn(markdown) == (
        "1. Install:\n```\nnpm install\n  --save x\n```\n2. Start:\n```\nnpm start\n```"
    )


def test_table_cells_read_as_plain_text_in_the_code_block() -> None:
    markdown = (
        "| Plan | Notes |\n|---|---|\n| *Pro* | `CSV` or _JSON_<br>max 10&nbsp;MB |\n"
        "| R&amp;D | ~~beta~~ [docs](https://x.io/a_(b)) |"
    )
    assert markdown_to_mrkdwn(markdown) == (
        "```\nPlan | Notes\n-----+-------------------------------\n"
        "Pro  | CSV or JSON max 10\u00a0MB\nR&amp;D  | beta docs (https://x.io/a_(b))\n```"
    )


def test_a_table_too_wide_for_a_thread_is_a_list_of_its_rows() -> None:
    markdown = (
        "| Error | What it means | What to do |\n|---|:---|---|\n"
        "| **E502** | The payment gateway timed out | Wait a minute and [retry](https://x.io/r) |\n"
        "| E401 | Your card was declined<br>by the bank | |\n| | | Contact us & wait |"
    )
    assert markdown_to_mrkdwn(markdown) == (
        "• *E502* — What it means: The payment gateway timed out · What to do: Wait a minute and "
        "<https://x.io/r|retry>\n"
        "• *E401* — What it means: Your card was declined by the bank\n"
        "• What to do: Contact us &amp; wait"
    )
