"""Web origins (``scheme://host[:port]``), as browsers write them in an ``Origin`` header."""

from __future__ import annotations

import re

_ORIGIN = re.compile(r"(https?)://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?", re.IGNORECASE)
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def origin_of(url: str, *, what: str = "URL", path_allowed: bool = True) -> str:
    """``scheme://host[:port]`` of an http(s) URL, lowercased and without a default port, as
    browsers write an ``Origin`` header; ``ValueError`` for anything else."""
    text = url.strip().rstrip("/") if path_allowed else url.strip().removesuffix("/")
    match = _ORIGIN.match(text)
    rest = text[match.end() :] if match else ""
    if match is None or (rest and (not path_allowed or not rest.startswith("/"))):
        raise ValueError(f"{what} {url!r} is not of the form http(s)://host[:port]")
    if any(c in rest for c in "?#;'\" \t"):
        raise ValueError(f"{what} {url!r} may not hold a query, a fragment or quotes")
    scheme, host, port = match.group(1).lower(), match.group(2).lower(), match.group(3) or ""
    if port == _DEFAULT_PORTS[scheme]:
        port = ""
    return f"{scheme}://{host}{port}"
