"""Where Claude's Markdown stands at its end: inside a code block or not."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt  # rich's own Markdown reader: CommonMark, as Slack renders a stream

from router.handlers import CUT_OFF_NOTE
from router.markdown import open_fence


@pytest.mark.parametrize(
    ("markdown", "fence"),
    [
        ("Run:\n```bash\nls\n", "```"),
        ("Run:\n```bash\nls\n```\nDone.", None),
        ("~~~\ncode\n", "~~~"),
        ("````\n```\nstill code\n", "````"),  # a shorter fence inside does not close a longer one
        ("```\ncode\n```python\n", "```"),  # a closing fence has no info string
        ("   ```\ncode", "```"),
        ("    ```\nindented four: code, not a fence", None),
        ("```ls``` is inline code", None),  # a backtick fence's info string has no backtick
        ("1. Run:\n   ```bash\n   ls\n", "   ```"),  # under a list item: closed at its indentation
        ("1. Run:\n   ```bash\n   ls\n   ```\n2. Then:\n\n   ```\n   pwd", "   ```"),
        ("- Linux:\n  - Run:\n    ```bash\n    ls", "    ```"),  # nested: four spaces are a fence
        ("- ```bash\n  ls", "  ```"),
        ("1. Run:\n   ```bash\n   ls\n   ```\nDone:\n    ```\nindented code", None),
        ("", None),
    ],
)
def test_open_fence_is_the_code_block_the_text_ends_inside(markdown: str, fence: str | None) -> None:
    assert open_fence(markdown) == fence


@pytest.mark.parametrize(
    "cut_off",
    [
        "Run this:\n\n```bash\nsudo systemctl restart app\n",
        "1. Restart the service:\n   ```bash\n   sudo systemctl restart app\n",
        "1. Restart the service:\n\n   ```bash\n   sudo systemctl restart app\n   sudo journalctl -u app",
        "- On Linux:\n  - Restart the service:\n    ```bash\n    sudo systemctl restart app\n",
        "2) Edit the file:\n   ~~~yaml\n   retries: 3\n",
    ],
)
def test_a_note_after_the_fence_that_closes_an_answer_cut_off_mid_code_is_no_code(cut_off: str) -> None:
    """As the handler writes it under an answer Claude stopped in a code block; a closing fence at the
    margin under a numbered step would end the step, and open a code block of its own for the note."""
    fence = open_fence(cut_off)
    assert fence is not None
    html = MarkdownIt("commonmark").render(f"{cut_off}\n{fence}\n\n{CUT_OFF_NOTE}")
    code, note = html.split("<p><em>")
    assert code.count("<pre><code") == 1  # the answer's block, closed
    assert note == f"{CUT_OFF_NOTE.strip('_')}</em></p>\n"
