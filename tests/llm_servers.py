"""Local LLM servers for the notebooks' `openai` and `google-genai` cells, so CI runs that SDK code for real.

    python -m tests.llm_servers -- <command ...>     # start both servers, run the command, stop both

What runs, all on 127.0.0.1 and offline:
  1. `transformers serve` with the local SmolLM2-135M-Instruct (from the asset store): an OpenAI-compatible
     Chat Completions server.
  2. A LiteLLM proxy in front of it, which both SDKs call. It speaks the OpenAI API under /v1 (Chat Completions,
     and the Responses API, which it bridges to Chat Completions: `use_chat_completions_api`) and the Gemini API
     (`/v1beta/models/{model}:generateContent`, the endpoint the `google-genai` SDK calls); LiteLLM translates
     each call to Chat Completions on server 1.

The wrapped command gets OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_MODEL and GOOGLE_GEMINI_BASE_URL /
GEMINI_API_KEY / GEMINI_MODEL (both: the proxy) and LLM_BACKEND (a stable description for the notebooks to print).
Any real GOOGLE_API_KEY is removed from its environment, so no real key is sent to a local server.

LiteLLM lives in its own virtual environment (.venv/llm-proxy, installed by `make` from
requirements-proxy-lock.txt), because the `litellm[proxy]` extra pins huggingface-hub<2 and rich<14, which
would downgrade the notebooks' environment. Override its location with --litellm.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
PROXY_VENV = REPO_ROOT / ".venv" / "llm-proxy"
LOCAL_MODEL = "smollm2-local"  # the name the proxy serves the local model under, to both SDKs
HOST = "127.0.0.1"


class ServerStartError(RuntimeError):
    """A server did not come up; the message says which, why, and ends with its log."""


@dataclass(frozen=True)
class Endpoints:
    openai_base_url: str
    openai_api_key: str
    openai_model: str
    gemini_base_url: str
    gemini_api_key: str
    gemini_model: str
    backend: str

    def env(self) -> dict[str, str]:
        return {
            "OPENAI_BASE_URL": self.openai_base_url,
            "OPENAI_API_KEY": self.openai_api_key,
            "OPENAI_MODEL": self.openai_model,
            "GOOGLE_GEMINI_BASE_URL": self.gemini_base_url,
            "GEMINI_API_KEY": self.gemini_api_key,
            "GEMINI_MODEL": self.gemini_model,
            "LLM_BACKEND": self.backend,
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def find_litellm(explicit: str | None = None) -> Path:
    path = Path(explicit) if explicit else PROXY_VENV / "bin" / "litellm"
    if not path.is_file():
        raise ServerStartError(
            f"the LiteLLM proxy (the Gemini-API server) is not at {path}. `make test` installs it into {PROXY_VENV} "
            "from requirements-proxy-lock.txt; or point --litellm at a litellm executable."
        )
    return path


def _request(
    url: str, body: dict[str, object] | None = None, headers: dict[str, str] | None = None, timeout: float = 5
) -> dict[str, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return dict(json.load(response))


class _Server:
    """One server process in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name.split()[0]}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            argv, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def fail(self, why: str) -> ServerStartError:
        return ServerStartError(
            f"{self.name} failed to start: {why}\n--- last lines of its log ({self.log_path}) ---\n{self.log_tail()}"
        )

    def wait_until(self, probe: str, check: Callable[[], object], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self.fail(f"it exited with code {self.process.returncode} while waiting for {probe}")
            try:
                check()
                return
            except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                time.sleep(1.0)
        raise self.fail(f"no good answer from {probe} within {timeout:.0f} s (last error: {last_error})")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        self._log.close()



def _local_model_id() -> str:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(REPO_ROOT))
    from nlp_assets import checkpoint

    return checkpoint(HUB_ID).id


@contextmanager
def llm_servers(
    model_id: str | None = None, litellm: str | None = None, timeout: float = 300.0, verbose: bool = True
) -> Iterator[Endpoints]:
    """Start `transformers serve` and a Gemini-API LiteLLM proxy in front of it; yield their endpoints; stop both."""
    model_id = model_id or _local_model_id()
    litellm_path = find_litellm(litellm)
    transformers_cli = Path(sys.executable).with_name("transformers")
    if not transformers_cli.is_file():
        raise ServerStartError(
            f"`transformers serve` needs the transformers CLI next to {sys.executable}; "
            "pip install 'transformers[serving]'"
        )
    say = (lambda msg: print(f"[llm_servers] {msg}", file=sys.stderr, flush=True)) if verbose else (lambda msg: None)
    openai_port, gemini_port = free_port(), free_port()
    openai_url = f"http://{HOST}:{openai_port}/v1"
    gemini_url = f"http://{HOST}:{gemini_port}"
    openai_key = "local-" + secrets.token_hex(8)  # transformers serve checks no key; the SDK insists on one
    master_key = "sk-local-" + secrets.token_hex(12)  # LiteLLM's master key, also what google-genai sends
    base_env = {k: v for k, v in os.environ.items() if k not in {"GOOGLE_API_KEY", "GEMINI_API_KEY", "OPENAI_API_KEY"}}

    with ExitStack() as stack:
        log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="llm_servers_")))
        say(f"starting transformers serve ({model_id}) on {openai_url}")
        serve = _Server(
            "transformers serve",
            [str(transformers_cli), "serve", model_id, "--host", HOST, "--port", str(openai_port),
             "--device", "cpu", "--dtype", "float32", "--log-level", "warning"],
            {**base_env, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
            log_dir,
        )
        stack.callback(serve.stop)
        serve.wait_until(f"{openai_url}/models", lambda: _request(f"{openai_url}/models")["data"], timeout)
        # One real completion loads the weights, so the first notebook call is not the slow one.
        serve.wait_until(
            "a chat completion",
            lambda: _request(f"{openai_url}/chat/completions", {"model": model_id, "max_tokens": 1,
                             "messages": [{"role": "user", "content": "Hi"}]}, timeout=timeout)["choices"],
            timeout,
        )

        # One model entry serves both SDKs through the proxy. `use_chat_completions_api` makes LiteLLM answer the
        # Responses API (`responses.create`, `responses.parse`) itself, bridged to server 1's Chat Completions:
        # without it the proxy forwards a Responses call as is, and server 1 answers a non-streamed one with
        # server-sent events that the openai SDK cannot parse.
        config = {
            "model_list": [{"model_name": LOCAL_MODEL, "litellm_params": {
                "model": f"openai/{model_id}", "api_base": openai_url, "api_key": openai_key,
                "use_chat_completions_api": True}}],
            "general_settings": {"master_key": master_key},
            "litellm_settings": {"telemetry": False, "drop_params": True},
        }
        config_path = log_dir / "litellm_config.json"  # YAML is a superset of JSON
        config_path.write_text(json.dumps(config))
        say(f"starting the LiteLLM proxy (Gemini API) on {gemini_url}")
        proxy = _Server(
            "LiteLLM proxy",
            [str(litellm_path), "--config", str(config_path), "--host", HOST, "--port", str(gemini_port),
             "--num_workers", "1"],
            {**base_env, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False", "LITELLM_LOG": "ERROR"},
            log_dir,
        )
        stack.callback(proxy.stop)
        auth = {"x-goog-api-key": master_key}
        proxy.wait_until(
            "a Gemini generateContent call",
            lambda: _request(f"{gemini_url}/v1beta/models/{LOCAL_MODEL}:generateContent",
                             {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
                              "generationConfig": {"maxOutputTokens": 1}},
                             auth, timeout=timeout)["candidates"],
            timeout,
        )
        import transformers

        backend = f"local: LiteLLM proxy -> transformers serve {transformers.__version__} with {model_id}"
        say("both servers answer")
        # Both SDKs talk to the proxy (OpenAI routes under /v1, the Gemini route under /v1beta), with its master key.
        yield Endpoints(f"{gemini_url}/v1", master_key, LOCAL_MODEL, gemini_url, master_key, LOCAL_MODEL, backend)
        say("stopping both servers")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.llm_servers", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", help="model id for transformers serve (default: the asset store's SmolLM2-135M-Instruct)"
    )
    parser.add_argument("--litellm", help="path of the litellm executable (default: .venv/llm-proxy/bin/litellm)")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds each server may take to answer (default 300)"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the command to run with the servers up")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --, e.g. python -m tests.llm_servers -- pytest ...")
    try:
        with llm_servers(args.model, args.litellm, args.timeout) as endpoints:
            env = {k: v for k, v in os.environ.items() if k != "GOOGLE_API_KEY"}
            return subprocess.run(command, env={**env, **endpoints.env()}).returncode
    except ServerStartError as exc:
        print(f"[llm_servers] ERROR: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
