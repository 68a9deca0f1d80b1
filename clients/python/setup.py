"""Regenerates refit_client/_proto from ../../proto before the package is built (see generate.sh).

From an sdist, which has no proto/ beside it, the modules it carries are used as they are.
"""
import subprocess
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildPy(build_py):
    def run(self):
        if (HERE.parent.parent / "proto" / "refit").is_dir():
            subprocess.run(["sh", str(HERE / "generate.sh")], check=True)
        elif not (HERE / "refit_client" / "_proto" / "refit").is_dir():
            raise SystemExit("refit_client/_proto is missing and there is no proto/ to generate it from")
        # The packages were listed before the generated ones existed: list them again.
        self.packages = self.distribution.packages = find_packages(str(HERE), include=["refit_client", "refit_client.*"])
        super().run()


setup(cmdclass={"build_py": BuildPy})
