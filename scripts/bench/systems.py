"""The scenarios, and the systems under test started against the fake upstream.

"direct" is the upstream itself (nginx for fixed answers when installed, the
Python fake for streams); every other system sits in front of it: the bare
relay, localgate, and the peers found on this machine — LiteLLM (an
interpreter with `litellm[proxy]`), Portkey's gateway and claude-code-router
(from npm, installed on first use into a cache dir outside the repo). Peers
not found are left out of the run. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scripts.bench import wire
from scripts.bench.procs import HOST, Child, Children, free_port

KEY_ENV = "LOCALGATE_BENCH_KEY"
PATHS = {"openai": wire.CHAT, "anthropic": wire.MESSAGES, "responses": wire.RESPONSES}
PATHS["embeddings"] = wire.EMBEDDINGS
# kind: (the client's wire, the upstream's wire)
KINDS = {
    "openai-pass": ("openai", "openai"),
    "anthropic-pass": ("anthropic", "anthropic"),
    "translated": ("anthropic", "openai"),
    "responses-pass": ("responses", "responses"),
    "responses-translated": ("responses", "anthropic"),
    "embeddings-pass": ("embeddings", "embeddings"),
}
PASSTHROUGH = frozenset(k for k, (client, upstream) in KINDS.items() if client == upstream)
# Loopback only: a Node server that listens on every interface is made to bind 127.0.0.1.
LOOPBACK_JS = """const net = require("net"); const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...a) {
  if (a[0] && typeof a[0] === "object") a[0] = { ...a[0], host: "127.0.0.1" };
  else if (typeof a[0] === "number") a.splice(1, typeof a[1] === "string" ? 1 : 0, "127.0.0.1");
  return listen.apply(this, a);
};"""


@dataclass(frozen=True)
class Scenario:
    """One kind of request at one size, fixed or streamed; files hold the bodies."""

    kind: str
    size: str
    stream: bool
    body: Path  # what a client sends
    upstream_body: Path  # what the upstream itself gets (measured as "direct")

    @property
    def name(self) -> str:
        return self.kind if self.stream else f"{self.kind}/{self.size}"

    @property
    def client(self) -> str:
        return KINDS[self.kind][0]

    @property
    def upstream(self) -> str:
        return KINDS[self.kind][1]


def scenarios(folder: Path, *, stream: bool) -> list[Scenario]:
    """Every kind at both sizes, or (streams) every chat kind once, small."""
    folder.mkdir(parents=True, exist_ok=True)
    found = []
    for size in ("small",) if stream else ("small", "large"):
        for kind, (client, upstream) in KINDS.items():
            if stream and upstream == "embeddings":
                continue
            model = wire.MODELS[upstream][stream]
            name = f"{kind}-{size}{'-stream' if stream else ''}"
            bodies = []
            for side, dialect in (("client", client), ("upstream", upstream)):
                bodies.append(folder / f"{name}-{side}.json")
                bodies[-1].write_bytes(wire.request(dialect, size, model, stream))
            found.append(Scenario(kind, size, stream, *bodies))
    return found


@dataclass
class System:
    """One system: its base URLs, its process, the kinds it serves, the headers it needs."""

    name: str
    fixed: str
    stream: str
    child: Child | None = None  # the process measured (None for the upstream itself)
    kinds: frozenset[str] = frozenset(KINDS)
    headers: Callable[[Scenario], dict] = field(default=lambda scenario: {})
    version: str | None = None
    also: tuple[Child, ...] = ()  # its other processes (claude-code-router's for streams)

    @property
    def processes(self) -> list[Child]:
        return [self.child, *self.also] if self.child else []

    def url(self, s: Scenario) -> str:
        base = self.stream if s.stream else self.fixed
        return base + PATHS[s.upstream if self.name == "direct" else s.client]

    def body(self, s: Scenario) -> Path:
        return s.upstream_body if self.name == "direct" else s.body


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


def nginx_config(prefix: Path, port: int) -> str:
    """An nginx answering every route's fixed body: one worker, no logs."""
    temp = " ".join(f"{k}_temp_path {prefix}/{k};" for k in ("client_body", "proxy", "fastcgi"))
    routes = "\n".join(
        f"    location = {path} {{ default_type application/json; return 200 '{body.decode()}'; }}"
        for path, body in wire.ANSWERS.items()
    )
    return f"""worker_processes 1; daemon off; pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off; {temp} uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
  keepalive_requests 10000000; keepalive_timeout 300s;
  client_max_body_size 64m; client_body_buffer_size 128k;
  server {{
    listen {HOST}:{port};
{routes}
  }}
}}
"""


def localgate_config(path: Path, port: int, fixed: str, stream: str, state: Path) -> Path:
    """One account per (wire, upstream); the key from the environment."""
    import tomli_w

    accounts = []
    for wire_name, provider, extra in (
        ("openai", "openai", {}),
        ("anthropic", "anthropic", {}),
        ("responses", "openai", {"api": "responses"}),
    ):
        for base, model in zip((fixed, stream), wire.MODELS[wire_name], strict=True):
            models = [model] + ([wire.MODELS["embeddings"][0]] if model == "gpt-bench" else [])
            url = base + "/v1" if provider == "openai" else base
            account = {"name": model, "provider": provider, "base_url": url, "models": models}
            accounts.append(account | {"key_env": KEY_ENV} | extra)
    data = {"state_dir": str(state), "server": {"host": HOST, "port": port}, "accounts": accounts}
    path.write_text(tomli_w.dumps(data))
    return path


def litellm_config(path: Path, fixed: str, stream: str) -> Path:
    """LiteLLM's proxy config (JSON is YAML): the same models, no DB, no callbacks."""
    models = []
    for wire_name, names in wire.MODELS.items():
        provider = "anthropic" if wire_name == "anthropic" else "openai"
        for base, name in zip((fixed, stream), names, strict=True):
            if name:
                params = {"model": f"{provider}/{name}", "api_key": "sk-bench"}
                params["api_base"] = base + "/v1" if provider == "openai" else base
                models.append({"model_name": name, "litellm_params": params})
    settings = {"telemetry": False, "drop_params": True, "set_verbose": False}
    path.write_text(json.dumps({"model_list": models, "litellm_settings": settings}))
    return path


def litellm_python(candidate: str | None) -> str | None:
    """The interpreter that can run LiteLLM's proxy, or None."""
    candidate = candidate or sys.executable
    probe = subprocess.run(
        [
            candidate,
            "-c",
            "import litellm.proxy.proxy_server, importlib.metadata as m;"
            "print(m.version('litellm'))",
        ],
        capture_output=True,
        text=True,
        env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": os.environ.get("PATH", "")},
    )
    return candidate if probe.returncode == 0 else None


def npm_package(name: str, package: str, progress) -> Path | None:
    """The package's folder, installed with npm on first use into the cache; None if not."""
    cache = Path(os.environ.get("LOCALGATE_BENCH_CACHE") or Path.home() / ".cache/localgate-bench")
    folder = cache / name / "node_modules" / package
    if not (folder / "package.json").exists():
        if not shutil.which("npm") or not shutil.which("node"):
            progress(f"{name}: npm or node not installed, left out")
            return None
        progress(f"{name}: installing {package} into {cache / name}")
        done = subprocess.run(
            ["npm", "install", "--prefix", str(cache / name), "--no-audit", "--no-fund", package],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            progress(f"{name}: `npm install {package}` failed, left out: {done.stderr[-300:]}")
            return None
    return folder


def _node_main(folder: Path, command: str) -> tuple[list[str], str]:
    """argv running the package's `command` bin under node with LOOPBACK_JS, and its version."""
    meta = json.loads((folder / "package.json").read_text())
    bins = meta["bin"] if isinstance(meta["bin"], dict) else {command: meta["bin"]}
    loopback = folder.parent / "loopback.cjs"
    loopback.write_text(LOOPBACK_JS)
    return ["node", "--require", str(loopback), str(folder / bins[command])], meta["version"]


def start_systems(children: Children, work: Path, args, progress) -> dict[str, System]:
    """Start the upstream(s), the relay, localgate and every peer found; return them by name."""
    cores, env = args.server_cores, clean_env(work)

    def serve(name, argv, run_env=env, **opts) -> tuple[Child, str]:
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in argv]
        return children.start(name, argv, port=port, cores=cores, env=run_env, **opts), (
            f"http://{HOST}:{port}"
        )

    me = [sys.executable, "-m"]
    _, stream = serve(
        "upstream",
        [
            *me,
            "scripts.bench.servers",
            "upstream",
            "--port",
            "{port}",
            "--events",
            str(args.events),
            "--gap",
            str(args.gap),
        ],
    )
    fixed, nginx = stream, shutil.which("nginx") or "/usr/sbin/nginx"
    if not args.no_nginx and Path(nginx).exists():
        prefix = work / "nginx"
        prefix.mkdir(parents=True, exist_ok=True)
        port = free_port()
        (prefix / "nginx.conf").write_text(nginx_config(prefix, port))
        children.start(
            "nginx",
            [nginx, "-c", str(prefix / "nginx.conf"), "-p", str(prefix)],
            port=port,
            cores=cores,
        )
        fixed = f"http://{HOST}:{port}"
    found = {
        "direct": System("direct", fixed, stream, version="nginx" if fixed != stream else "python")
    }

    for name, flags in (("relay", []), ("reader", ["--read"])):
        relays = [
            serve(
                f"{name}-{kind}",
                [*me, "scripts.bench.servers", "relay", "--port", "{port}", "--upstream", base]
                + flags,
            )
            for kind, base in (("fixed", fixed), ("stream", stream))
        ]
        found[name] = System(name, relays[0][1], relays[1][1], relays[0][0], PASSTHROUGH)

    port = free_port()
    config = localgate_config(work / "localgate.toml", port, fixed, stream, work / "state")
    lg = children.start(
        "localgate",
        [*me, "localgate", "--config", str(config), "serve"],
        port=port,
        cores=cores,
        env=env,
    )
    found["localgate"] = System("localgate", f"http://{HOST}:{port}", f"http://{HOST}:{port}", lg)

    if "litellm" in args.peers and (python := litellm_python(args.litellm_python)):
        ll_env = env | {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOG": "ERROR",
            "LITELLM_TELEMETRY": "False",
            "DISABLE_SCHEMA_UPDATE": "True",
            # localgate takes any key on loopback; let LiteLLM do the same (no DB).
            "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true",
            # Anthropic client -> OpenAI model over Chat Completions, as localgate does.
            "LITELLM_USE_CHAT_COMPLETIONS_URL_FOR_ANTHROPIC_MESSAGES": "True",
        }
        conf = litellm_config(work / "litellm.json", fixed, stream)
        child, url = serve(
            "litellm",
            [
                python,
                "-m",
                "litellm.proxy.proxy_cli",
                "--config",
                str(conf),
                "--host",
                HOST,
                "--port",
                "{port}",
                "--num_workers",
                "1",
            ],
            ll_env,
            ready_timeout=180,
        )
        version = subprocess.run(
            [python, "-c", "import importlib.metadata as m;print(m.version('litellm'))"],
            capture_output=True,
            text=True,
        )
        found["litellm"] = System("litellm", url, url, child, version=version.stdout.strip())
    elif "litellm" in args.peers:
        progress("litellm: not importable (set LITELLM_PYTHON), left out")

    if "portkey" in args.peers and (
        folder := npm_package("portkey", "@portkey-ai/gateway", progress)
    ):
        argv, version = _node_main(folder, "gateway")
        child, url = serve(
            "portkey",
            [*argv, "--port={port}", "--headless"],
            env | {"NODE_ENV": "production"},
            cwd=work,
        )

        def portkey_headers(s: Scenario) -> dict:
            # Portkey routes by header: the provider and where it is (here: our fake).
            provider = "anthropic" if s.upstream == "anthropic" else "openai"
            return {
                "x-portkey-provider": provider,
                "x-portkey-custom-host": (stream if s.stream else fixed) + "/v1",
            }

        found["portkey"] = System("portkey", url, url, child, PASSTHROUGH, portkey_headers, version)

    if "ccr" in args.peers and (
        folder := npm_package("ccr", "@musistudio/claude-code-router", progress)
    ):
        argv, version = _node_main(folder, "ccr")
        started = []
        for kind, base in (("fixed", fixed), ("stream", stream)):
            home = work / f"ccr-{kind}"
            (home / ".claude-code-router").mkdir(parents=True, exist_ok=True)
            port = free_port()
            provider = {
                "name": "bench",
                "api_base_url": base + wire.CHAT,
                "api_key": "sk-bench",
                "models": [wire.MODELS["openai"][kind == "stream"]],
            }
            settings = {
                "LOG": False,
                "HOST": HOST,
                "PORT": port,
                "NON_INTERACTIVE_MODE": True,
                "Providers": [provider],
                "Router": {"default": f"bench,{provider['models'][0]}"},
            }
            (home / ".claude-code-router" / "config.json").write_text(json.dumps(settings))
            child = children.start(
                f"ccr-{kind}",
                [*argv, "start"],
                port=port,
                cores=cores,
                env=env | {"HOME": str(home)},
                cwd=home,
            )
            started.append((child, f"http://{HOST}:{port}"))
        found["ccr"] = System(
            "ccr",
            started[0][1],
            started[1][1],
            started[0][0],
            frozenset({"translated"}),
            version=version,
            also=(started[1][0],),
        )
    return found
