"""hnet_core stays plain PyTorch: importing all of it pulls in no optuna, ray or pandas."""

from __future__ import annotations

import subprocess
import sys


def test_hnet_core_imports_no_study_tooling():
    code = ("import sys, pkgutil, importlib, hnet_core\n"
            "for m in pkgutil.walk_packages(hnet_core.__path__, 'hnet_core.'):\n"
            "    importlib.import_module(m.name)\n"
            "print(sorted({'optuna', 'ray', 'pandas'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
