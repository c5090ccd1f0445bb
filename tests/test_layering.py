"""Habit 1: the gptviz library never imports streamlit, so it runs in a notebook too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "gptviz"
FORBIDDEN = "streamlit"


def _is_forbidden(module: str | None) -> bool:
    return module is not None and (module == FORBIDDEN or module.startswith(FORBIDDEN + "."))


def streamlit_imports(source: str, filename: str = "<string>") -> list[str]:
    """Each place in `source` that imports streamlit, as 'file:line: code'.

    Sees imports at any depth (functions, classes, try/if blocks) and
    importlib.import_module("streamlit...") / __import__("streamlit...") with a literal name.
    Relative imports (`from . import streamlit_helpers`) are the package's own modules.
    """
    hits = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        names: list[str | None] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            func_name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if func_name in {"import_module", "__import__"} and isinstance(first, ast.Constant):
                names = [first.value if isinstance(first.value, str) else None]
        if any(_is_forbidden(name) for name in names):
            hits.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
    return hits


def package_streamlit_imports(package_dir: Path) -> list[str]:
    hits = []
    for path in sorted(package_dir.rglob("*.py")):
        hits += streamlit_imports(path.read_text(encoding="utf-8"), str(path))
    return hits


def test_gptviz_does_not_import_streamlit():
    assert (PACKAGE_DIR / "__init__.py").is_file(), f"package not found at {PACKAGE_DIR}"
    hits = package_streamlit_imports(PACKAGE_DIR)
    assert not hits, "gptviz must not import streamlit (keep UI in app.py/pages):\n" + "\n".join(
        hits
    )


@pytest.mark.parametrize(
    "source",
    [
        "import streamlit",
        "import streamlit as st",
        "import os, streamlit.components.v1 as components",
        "from streamlit import session_state",
        "from streamlit.testing.v1 import AppTest",
        "def draw():\n    import streamlit as st\n    st.write(1)",
        "class A:\n    def f(self):\n        if True:\n            from streamlit import x",
        "try:\n    import streamlit\nexcept ImportError:\n    pass",
        "import importlib\nst = importlib.import_module('streamlit')",
        "st = __import__('streamlit')",
    ],
)
def test_checker_catches_streamlit_imports(source):
    assert streamlit_imports(source)


@pytest.mark.parametrize(
    "source",
    [
        "",
        "import torch\nfrom torch import nn",
        "import streamlit_like_but_not",
        "from . import streamlit",
        "from .streamlit_helpers import x",
        "name = 'import streamlit'  # a string, not an import",
    ],
)
def test_checker_allows_other_imports(source):
    assert streamlit_imports(source) == []


def test_checker_walks_package_files(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    assert package_streamlit_imports(pkg) == []  # an empty package passes

    (pkg / "sub" / "deep.py").write_text("import numpy\n\ndef f():\n    import streamlit\n")
    hits = package_streamlit_imports(pkg)
    assert len(hits) == 1 and "deep.py:4" in hits[0]
