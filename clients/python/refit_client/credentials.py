"""Where a client finds the services and its credentials: arguments, ``REFIT_*`` variables, or a
local stack's ``.refit/`` folder — in the same order as the TypeScript CLI."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

import grpc

#: The seven services and their default ports on 127.0.0.1 (``npm run stack`` listens there).
DEFAULT_PORTS: Mapping[str, int] = {
    "trigger": 50051,
    "ingestion": 50052,
    "feature": 50053,
    "trainer": 50054,
    "evaluator": 50055,
    "registry": 50056,
    "deployer": 50057,
}


def addresses_for(addr: "str | Mapping[str, str] | None", env: Mapping[str, str]) -> dict:
    """Each service's ``host:port``.

    ``addr`` is a host (the default ports on it), a mapping of service name to address (others
    from the environment or the defaults), or None: ``REFIT_<SERVICE>_ADDR``, else 127.0.0.1 and
    the default port.
    """
    if isinstance(addr, str):
        host = addr.strip()
        if not host or (host.count(":") == 1 and host.rsplit(":", 1)[1].isdigit()):
            raise ValueError(
                f"Client({addr!r}): give a host (each service at its default port on it) or a mapping "
                "{'trigger': 'host:port', 'deployer': …}: Refit is seven services on seven ports"
            )
        return {s: f"{host}:{port}" for s, port in DEFAULT_PORTS.items()}
    given = dict(addr or {})
    unknown = sorted(set(given) - set(DEFAULT_PORTS))
    if unknown:
        raise ValueError(f"unknown service(s) {', '.join(unknown)}: expected {', '.join(DEFAULT_PORTS)}")
    out = {}
    for s, port in DEFAULT_PORTS.items():
        out[s] = given.get(s) or (env.get(f"REFIT_{s.upper()}_ADDR") or "").strip() or f"127.0.0.1:{port}"
    return out


def find_refit_home(start: "str | os.PathLike[str] | None" = None) -> Optional[Path]:
    """The nearest ``.refit`` folder with a CA (``ca/ca.crt``), from ``start`` (default: cwd) upwards."""
    d = Path(start or os.getcwd()).resolve()
    for p in (d, *d.parents):
        if (p / ".refit" / "ca" / "ca.crt").is_file():
            return p / ".refit"
    return None


@dataclass(frozen=True)
class ResolvedCredentials:
    """What :func:`credentials_from_env` found: the channel credentials (None: plaintext), the
    bearer token (None: none) and a sentence saying where they came from."""

    channel: Optional[grpc.ChannelCredentials]
    token: Optional[str]
    description: str


def _read(path: "str | Path", what: str, variable: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read {what} at {path} ({variable}): {e}") from e


def credentials_from_env(env: Optional[Mapping[str, str]] = None) -> ResolvedCredentials:
    """Credentials the way the CLI finds them.

    - ``REFIT_TLS_CA`` (the CA file), else ``REFIT_HOME``'s or the nearest ``.refit/``'s
      ``ca/ca.crt``; none at all: plaintext (a stack without TLS);
    - a client certificate ``REFIT_TLS_CERT`` + ``REFIT_TLS_KEY``, and/or a bearer token
      ``REFIT_TOKEN``, else the file ``REFIT_TOKEN_FILE``, else ``.refit/admin.token``.
    """
    env = os.environ if env is None else env
    home = Path(env["REFIT_HOME"]).resolve() if env.get("REFIT_HOME") else find_refit_home()
    ca_path = env.get("REFIT_TLS_CA") or (str(home / "ca" / "ca.crt") if home else None)
    if not ca_path:
        return ResolvedCredentials(None, None, "plaintext, no credential (no REFIT_TLS_CA and no .refit/ folder found)")
    ca = _read(ca_path, "the CA certificate", "REFIT_TLS_CA")
    cert = _read(env["REFIT_TLS_CERT"], "the client certificate", "REFIT_TLS_CERT") if env.get("REFIT_TLS_CERT") else None
    key = _read(env["REFIT_TLS_KEY"], "the client key", "REFIT_TLS_KEY") if env.get("REFIT_TLS_KEY") else None
    if bool(cert) != bool(key):
        raise ValueError("give both REFIT_TLS_CERT and REFIT_TLS_KEY, or neither")
    token = (env.get("REFIT_TOKEN") or "").strip() or None
    source = "REFIT_TOKEN"
    if not token and env.get("REFIT_TOKEN_FILE"):
        token = _read(env["REFIT_TOKEN_FILE"], "the token", "REFIT_TOKEN_FILE").decode("utf-8").strip()
        source = env["REFIT_TOKEN_FILE"]
    elif not token and not cert and home and (home / "admin.token").is_file():
        token = (home / "admin.token").read_text("utf-8").strip()
        source = str(home / "admin.token")
    channel = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
    who = f"client certificate {env.get('REFIT_TLS_CERT')}" if cert else f"token from {source}" if token else "no credential"
    return ResolvedCredentials(channel, token, f"TLS (CA {ca_path}), {who}")
