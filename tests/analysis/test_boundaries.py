"""analysis reads result files only: importing all of it pulls in neither studies nor hnet_core
(nor torch, optuna or ray)."""

from __future__ import annotations

import subprocess
import sys


def test_analysis_imports_no_studies_or_models():
    code = ("import sys, pkgutil, importlib, analysis\n"
            "for m in pkgutil.walk_packages(analysis.__path__, 'analysis.'):\n"
            "    importlib.import_module(m.name)\n"
            "print(sorted({'studies', 'hnet_core', 'torch', 'optuna', 'ray'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
