"""The page's files ship in the wheel: pyproject's package-data covers every one of them."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import localgate.dashboard

ROOT = Path(__file__).resolve().parents[2]


def test_every_static_file_is_package_data():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["localgate.dashboard"]
    package = Path(localgate.dashboard.__file__).parent
    files = [p.relative_to(package).as_posix() for p in (package / "static").rglob("*")]
    assert {"static/index.html", "static/app.js", "static/chart.js", "static/style.css"} <= set(
        files
    )
    for name in files:
        assert any(fnmatch(name, pattern) for pattern in patterns), name


def test_the_page_loads_nothing_from_elsewhere():
    """No CDN, no third-party request: every URL the page names is its own."""
    static = Path(localgate.dashboard.__file__).parent / "static"
    for path in static.iterdir():
        text = path.read_text()
        for marker in ("http://", "https://", "//cdn", "@import"):
            allowed = "http://www.w3.org/2000/svg"
            assert marker not in text.replace(allowed, ""), (path.name, marker)
