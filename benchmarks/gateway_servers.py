"""Start and stop the servers of the gateway benchmark: fake upstream, Frontdesk, LiteLLM.

Every server is a child process pinned with ``taskset``; start-up time is measured from
spawn to the first HTTP 200 on its health endpoint.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.procstat import cpu_seconds

START_TIMEOUT_S = 300.0  # LiteLLM took 98 s to start on the loaded 2-core machine
LITELLM_MASTER_KEY = "sk-bench-master-key"


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    startup_s: float
    log: Path | None = None
    startup_samples: list[float] = field(default_factory=list)
    startup_cpu_s: float = 0.0
    """CPU (user + system) the process tree used from spawn to its first 200."""
    startup_cpu_samples: list[float] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spawn(
    name: str,
    cmd: list[str],
    port: int,
    health: str,
    *,
    env: dict[str, str],
    log: Path | None,
    cwd: Path | None = None,
) -> Server:
    out = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    start = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}{health}"
    with httpx.Client(timeout=1.0) as client:
        while time.perf_counter() - start < START_TIMEOUT_S:
            if process.poll() is not None:
                tail = log.read_text()[-2000:] if log is not None else ""
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")
            try:
                if client.get(url).status_code == 200:
                    elapsed = time.perf_counter() - start
                    server = Server(name, process, port, elapsed, log)
                    server.startup_cpu_s = cpu_seconds(process.pid)
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.01)
    process.kill()
    raise RuntimeError(f"{name} did not answer {url} within {START_TIMEOUT_S} s")


def ensure_litellm(venv: Path) -> None:
    """Install ``litellm[proxy]`` into its own virtualenv (reused when present)."""
    if (venv / "bin" / "litellm").exists():
        return
    print(f"installing litellm[proxy] into {venv} (once)", flush=True)
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "litellm[proxy]"],
        check=True,
        timeout=1800,
    )


def start_upstream(root: Path, port: int, core: int) -> Server:
    cmd = [
        "taskset",
        "-c",
        str(core),
        sys.executable,
        str(root / "benchmarks" / "upstream.py"),
        "--port",
        str(port),
    ]
    return _spawn("upstream", cmd, port, "/health", env=dict(os.environ), log=None)


BOT_YAML = """\
name: Bench
company: Bench Inc.
system_prompt: "You are {bot_name} of {company}."
endpoints:
  - name: upstream
    dialect: openai
    model: gpt-4o-mini
    base_url: %s
    api_key_env: BENCH_KEY
    max_attempts: 1
model:
  chain: [upstream]
knowledge:
  enabled: false
guard:
  enabled: false
"""


def start_frontdesk(
    root: Path, work: Path, upstream_url: str, port: int, core: int
) -> tuple[Server, str]:
    """Frontdesk (one uvicorn worker) serving the upstream as gateway model ``upstream``."""
    data = work / "frontdesk"
    data.mkdir(parents=True, exist_ok=True)
    bot = work / "bench-bot.yaml"
    bot.write_text(BOT_YAML % upstream_url)
    env = {
        **os.environ,
        "FRONTDESK_DATA_DIR": str(data),
        "FRONTDESK_BOT_CONFIG": str(bot),
        "FRONTDESK_LOG_LEVEL": "WARNING",
        "BENCH_KEY": "sk-upstream",
    }
    env.pop("FRONTDESK_DATABASE_URL", None)
    cli = str(root / ".venv" / "bin" / "frontdesk")
    subprocess.run([cli, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=work)
    created = subprocess.run(
        [cli, "keys", "create", "--role", "client", "--name", "bench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
    )
    key = created.stdout.strip().splitlines()[-1]
    cmd = ["taskset", "-c", str(core), cli, "serve", "--port", str(port), "--no-upgrade"]
    server = _spawn(
        "frontdesk", cmd, port, "/healthz", env=env, log=work / "frontdesk.log", cwd=work
    )
    return server, key


LITELLM_YAML = """\
model_list:
  - model_name: upstream
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: %s
      api_key: sk-upstream
litellm_settings:
  num_retries: 0
general_settings:
  master_key: %s
"""


def start_litellm(
    venv: Path, work: Path, upstream_url: str, port: int, core: int
) -> tuple[Server, str]:
    """The LiteLLM proxy (one worker) with the same upstream as model ``upstream``."""
    config = work / "litellm.yaml"
    config.write_text(LITELLM_YAML % (upstream_url, LITELLM_MASTER_KEY))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update(
        {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no network fetch at start-up
            "LITELLM_LOG": "ERROR",
            "LITELLM_TELEMETRY": "False",
            "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}",
        }
    )
    cmd = [
        "taskset",
        "-c",
        str(core),
        str(venv / "bin" / "litellm"),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    server = _spawn(
        "litellm", cmd, port, "/health/liveliness", env=env, log=work / "litellm.log", cwd=work
    )
    return server, LITELLM_MASTER_KEY
