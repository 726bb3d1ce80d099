"""The public API: what a study needs is exported by ``hnet_core.models``, ``hnet_core.train``
and ``hnet_core.data``, documented, and what the shipped studies import."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

PACKAGES = ("hnet_core.models", "hnet_core.train", "hnet_core.data")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_exists_and_is_documented(package):
    module = importlib.import_module(package)
    assert module.__doc__
    assert len(module.__all__) == len(set(module.__all__))
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{package}.{name} has no docstring"


def test_a_continual_study_finds_its_parts_in_the_packages():
    from hnet_core.models import ChunkedHyperMLP, HyperMLPConfig, TargetNetConfig
    from hnet_core.models import output_regularizer as regularizer
    from hnet_core.train import ContinualTrainConfig, train_continual

    assert regularizer.__module__ == "hnet_core.models.output_regularizer"
    assert ChunkedHyperMLP and HyperMLPConfig and TargetNetConfig
    assert ContinualTrainConfig and train_continual


def _hnet_core_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [node.module for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
            and node.module.startswith("hnet_core")]


@pytest.mark.parametrize("path", sorted((ROOT / "studies").glob("*.py"))
                         + sorted((ROOT / "examples").glob("*.py")),
                         ids=lambda p: p.name)
def test_studies_import_hnet_core_from_its_public_packages(path):
    deep = [m for m in _hnet_core_imports(path) if m.count(".") > 1 or m == "hnet_core"]
    assert not deep, f"{path.name} imports {deep}; import from {', '.join(PACKAGES)}"
