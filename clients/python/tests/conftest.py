"""Runs generate.sh before anything imports refit_client, and gives the stack tests their client.

The stack tests need a running Refit (REFIT_<SERVICE>_ADDR, REFIT_TLS_CA, REFIT_TOKEN_FILE as
`startStack` gives them: test/e2e/src/python-client.e2e.test.ts runs them so); without
REFIT_TRIGGER_ADDR they are skipped, and the offline tests still run.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent
REPO = PACKAGE.parent.parent


def pytest_configure(config):
    subprocess.run(["sh", str(PACKAGE / "generate.sh")], check=True, stdout=subprocess.DEVNULL)
    sys.path.insert(0, str(PACKAGE))


@pytest.fixture(scope="session")
def stack_env():
    if not os.environ.get("REFIT_TRIGGER_ADDR"):
        pytest.skip("no Refit stack: REFIT_TRIGGER_ADDR is not set (run test/e2e/src/python-client.e2e.test.ts)")
    return os.environ


@pytest.fixture(scope="session")
def client(stack_env):
    from refit_client import Client

    with Client.from_env(stack_env) as c:
        yield c


@pytest.fixture(scope="session")
def weather_csv():
    path = Path(os.environ.get("REFIT_WEATHER_CSV") or REPO / "node_modules" / "vega-datasets" / "data" / "weather.csv")
    assert path.is_file(), f"the weather data is not at {path} (npm ci installs vega-datasets; or set REFIT_WEATHER_CSV)"
    return path
