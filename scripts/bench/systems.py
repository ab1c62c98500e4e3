"""The systems under test, started against the fake upstream.

`start_systems` returns one `Endpoints` per system: where to send fixed-body
requests and where to send streams. "direct" is the upstream itself (nginx for
fixed bodies when installed, the Python fake for streams); every other system
sits in front of it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from scripts.bench import payloads
from scripts.bench.procs import HOST, Child, Children, free_port, python

KEY_ENV = "LOCALGATE_BENCH_KEY"


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of one system: fixed-body requests and streams."""

    name: str
    fixed: str
    stream: str
    child: Child | None  # the process to measure (None for the upstream itself)
    translates: bool  # can serve an Anthropic client from an OpenAI account


@dataclass
class Systems:
    """Everything started for a run."""

    upstream_kind: str  # "nginx" or "python"
    endpoints: dict[str, Endpoints]
    localgate_config: Path


def nginx_config(prefix: Path, port: int) -> str:
    """An nginx that answers both wires' fixed bodies, one worker, no logs."""

    def quoted(body: bytes) -> str:
        text = body.decode()
        if "'" in text or "$" in text:
            raise ValueError("fixed bodies must not contain ' or $ (nginx string syntax)")
        return "'" + text + "'"

    temp = "\n".join(
        f"  {kind}_temp_path {prefix}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
{temp}
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_max_body_size 64m;
  client_body_buffer_size 128k;
  server {{
    listen {HOST}:{port};
    location = /v1/chat/completions {{
      default_type application/json;
      return 200 {quoted(payloads.OPENAI_COMPLETION)};
    }}
    location = /v1/messages {{
      default_type application/json;
      return 200 {quoted(payloads.ANTHROPIC_MESSAGE)};
    }}
    location = /v1/responses {{
      default_type application/json;
      return 200 {quoted(payloads.RESPONSES_ANSWER)};
    }}
  }}
}}
"""


def localgate_config(path: Path, port: int, fixed: str, stream: str, state: Path) -> Path:
    """A localgate config: one account per (wire, upstream), secrets from the environment."""
    import tomli_w

    def account(name, provider, base, model, **keys):
        url = base + "/v1" if provider == "openai" else base
        return {
            "name": name,
            "provider": provider,
            "base_url": url,
            "models": [model],
            "key_env": KEY_ENV,
            **keys,
        }

    data = {
        "state_dir": str(state),
        "server": {"host": HOST, "port": port},
        "accounts": [
            account("oai", "openai", fixed, payloads.OPENAI_MODEL),
            account("anth", "anthropic", fixed, payloads.ANTHROPIC_MODEL),
            account("oai-stream", "openai", stream, payloads.OPENAI_STREAM_MODEL),
            account("anth-stream", "anthropic", stream, payloads.ANTHROPIC_STREAM_MODEL),
            account("resp", "openai", fixed, payloads.RESPONSES_MODEL, api="responses"),
            account(
                "resp-stream", "openai", stream, payloads.RESPONSES_STREAM_MODEL, api="responses"
            ),
        ],
    }
    path.write_text(tomli_w.dumps(data))
    return path


def litellm_config(path: Path, fixed: str, stream: str) -> Path:
    """LiteLLM's proxy config (JSON is YAML): same four routes, no DB, no callbacks."""

    def model(name, provider, base):
        url = base + "/v1" if provider == "openai" else base
        params = {"model": f"{provider}/{name}", "api_base": url, "api_key": "sk-bench"}
        return {"model_name": name, "litellm_params": params}

    data = {
        "model_list": [
            model(payloads.OPENAI_MODEL, "openai", fixed),
            model(payloads.ANTHROPIC_MODEL, "anthropic", fixed),
            model(payloads.OPENAI_STREAM_MODEL, "openai", stream),
            model(payloads.ANTHROPIC_STREAM_MODEL, "anthropic", stream),
            model(payloads.RESPONSES_MODEL, "openai", fixed),
            model(payloads.RESPONSES_STREAM_MODEL, "openai", stream),
        ],
        "litellm_settings": {"telemetry": False, "drop_params": True, "set_verbose": False},
        "general_settings": {},
    }
    path.write_text(json.dumps(data, indent=2))
    return path


def litellm_usable(python_path: str | None) -> str | None:
    """The interpreter that can run LiteLLM's proxy, or None."""
    candidates = [python_path] if python_path else [sys.executable]
    for candidate in candidates:
        if not candidate or not Path(candidate).exists():
            continue
        probe = subprocess.run(
            [candidate, "-c", "import litellm.proxy.proxy_server, uvicorn"],
            capture_output=True,
            env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin:/bin"},
            timeout=120,
        )
        if probe.returncode == 0:
            return candidate
    return None


def clean_env(work: Path) -> dict[str, str]:
    """Environment for children: nothing of the user's config, state or keyring touched."""
    return {
        KEY_ENV: "sk-bench-not-a-real-key",
        "XDG_CONFIG_HOME": str(work / "xdg-config"),
        "XDG_STATE_HOME": str(work / "xdg-state"),
        "XDG_DATA_HOME": str(work / "xdg-data"),
        "XDG_CACHE_HOME": str(work / "xdg-cache"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "LOCALGATE_CONFIG": str(work / "localgate.toml"),
        "PYTHONUNBUFFERED": "1",
    }


def start_systems(
    children: Children,
    work: Path,
    *,
    server_cores: str | None,
    use_nginx: bool,
    litellm_python: str | None,
    events: int,
    gap: float,
) -> Systems:
    """Start the upstream(s), the relays, localgate and (when given) LiteLLM."""
    env = clean_env(work)
    repo = Path(__file__).resolve().parents[2]
    stream_port = free_port()
    children.start(
        "upstream-python",
        python(
            "scripts.bench.upstream",
            "--port",
            str(stream_port),
            "--events",
            str(events),
            "--gap",
            str(gap),
        ),
        port=stream_port,
        cores=server_cores,
        cwd=repo,
    )
    stream = f"http://{HOST}:{stream_port}"
    fixed, kind = stream, "python"
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if use_nginx and nginx:
        prefix = work / "nginx"
        prefix.mkdir(parents=True, exist_ok=True)
        port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_config(prefix, port))
        children.start(
            "upstream-nginx",
            [nginx, "-c", str(conf), "-p", str(prefix)],
            port=port,
            cores=server_cores,
        )
        fixed, kind = f"http://{HOST}:{port}", "nginx"

    endpoints = {"direct": Endpoints("direct", fixed, stream, None, True)}

    relay_port, relay_stream_port = free_port(), free_port()
    relay = children.start(
        "relay",
        python("scripts.bench.relay", "--port", str(relay_port), "--upstream", fixed),
        port=relay_port,
        cores=server_cores,
        cwd=repo,
    )
    children.start(
        "relay-stream",
        python("scripts.bench.relay", "--port", str(relay_stream_port), "--upstream", stream),
        port=relay_stream_port,
        cores=server_cores,
        cwd=repo,
    )
    endpoints["relay"] = Endpoints(
        "relay",
        f"http://{HOST}:{relay_port}",
        f"http://{HOST}:{relay_stream_port}",
        relay,
        False,
    )

    lg_port = free_port()
    config = localgate_config(work / "localgate.toml", lg_port, fixed, stream, work / "state")
    lg = children.start(
        "localgate",
        python("localgate", "--config", str(config), "serve", "--port", str(lg_port)),
        port=lg_port,
        cores=server_cores,
        env=env,
        cwd=repo,
    )
    url = f"http://{HOST}:{lg_port}"
    endpoints["localgate"] = Endpoints("localgate", url, url, lg, True)

    if litellm_python:
        ll_port = free_port()
        ll_config = litellm_config(work / "litellm.json", fixed, stream)
        ll = children.start(
            "litellm",
            [
                litellm_python,
                "-m",
                "litellm.proxy.proxy_cli",
                "--config",
                str(ll_config),
                "--host",
                HOST,
                "--port",
                str(ll_port),
                "--num_workers",
                "1",
            ],
            port=ll_port,
            cores=server_cores,
            env={
                **env,
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "LITELLM_LOG": "ERROR",
                "LITELLM_TELEMETRY": "False",
                "DISABLE_SCHEMA_UPDATE": "True",
                # localgate takes any key on loopback; let LiteLLM do the same (no DB).
                "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true",
                # Anthropic client -> OpenAI model over Chat Completions, as localgate does.
                "LITELLM_USE_CHAT_COMPLETIONS_URL_FOR_ANTHROPIC_MESSAGES": "True",
            },
            ready_timeout=180,
        )
        url = f"http://{HOST}:{ll_port}"
        endpoints["litellm"] = Endpoints("litellm", url, url, ll, True)
    return Systems(kind, endpoints, config)
