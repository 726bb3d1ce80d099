"""The CPU model each seed records (``trials.parquet``'s ``cpu_model``)."""

from __future__ import annotations

import os
import platform

from studies._runner.machine import cpu_model

EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme

processor\t: 1
model name\t: AMD EPYC 7B13
"""


def test_the_model_name_of_cpuinfo_with_the_core_count(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(EPYC)
    assert cpu_model(info) == f"AMD EPYC 7B13, {os.cpu_count()} cores"


def test_without_a_model_name_the_platform_stands_in(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nBogoMIPS\t: 50.00\n")  # an ARM kernel's cpuinfo
    fallback = platform.processor() or platform.machine() or "unknown CPU"
    assert cpu_model(info) == f"{fallback}, {os.cpu_count()} cores"
    assert cpu_model(tmp_path / "absent") == cpu_model(info)


def test_this_machine_names_its_cpu():
    name, _, cores = cpu_model().rpartition(", ")
    assert name and cores == f"{os.cpu_count()} cores"
