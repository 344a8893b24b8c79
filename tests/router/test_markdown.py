"""Where Claude's Markdown stands at its end: inside a code block or not."""

from __future__ import annotations

import pytest

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
        ("", None),
    ],
)
def test_open_fence_is_the_code_block_the_text_ends_inside(markdown: str, fence: str | None) -> None:
    assert open_fence(markdown) == fence
