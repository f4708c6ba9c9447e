"""QR codes as SVG (segno, pure Python), for what a phone should scan: the ``otpauth://`` URI of
a two-factor enrolment. Made on the server, so the console needs no QR library: it shows the
SVG as an ``<img>`` with a ``data:image/svg+xml`` URI (an image element runs no script, and the
SVG holds nothing but a title and paths)."""

from __future__ import annotations

import io

import segno

#: Pixels per module and quiet-zone modules (the standard asks for 4).
SCALE = 4
BORDER = 4


def qr_svg(text: str, title: str = "QR code") -> str:
    """An SVG document (no XML declaration) of a QR code of ``text``: black on white (a dark
    theme must not invert what the camera reads), error correction M."""
    code = segno.make(text, error="m", micro=False)
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        scale=SCALE,
        border=BORDER,
        dark="#000",
        light="#fff",
        xmldecl=False,
        svgclass=None,
        lineclass=None,
        title=title,
    )
    return out.getvalue().decode()
