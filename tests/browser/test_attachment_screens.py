"""Attachments in a real browser: the visitor pastes an image into the widget and the agent sees
the server's re-encoded thumbnail of it (a new image: smaller, without the text chunk the pasted
file carried); a forged image (a PNG signature, nothing behind it) is refused with a visible
error in the widget, and nothing reaches the agent."""

from __future__ import annotations

import base64
import io

from PIL import Image, PngImagePlugin
from playwright.async_api import FrameLocator, expect
from tests.browser.helpers import Demo, Observer, Pages, begin_chat, composer, message_with

# Dispatches a paste of one file on the element, as a browser does for a pasted screenshot.
PASTE = """(el, [data, type, name]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type }));
  const init = { clipboardData: transfer, bubbles: true, cancelable: true };
  el.dispatchEvent(new ClipboardEvent("paste", init));
}"""


def screenshot_png() -> bytes:
    """A 640 x 480 "screenshot" with a text chunk that must not survive re-encoding."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-from-the-visitor")
    image = Image.new("RGB", (640, 480), "white")
    for x in range(0, 640, 40):
        image.paste((200, 30, 30), (x, 0, x + 20, 480))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


async def paste(widget: FrameLocator, data: bytes, media_type: str, name: str) -> None:
    await composer(widget).evaluate(PASTE, [base64.b64encode(data).decode(), media_type, name])


async def test_a_pasted_image_reaches_the_agent_as_a_re_encoded_thumbnail(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    _, widget, alice = await begin_chat(pages, observer)
    original = screenshot_png()
    assert b"secret-from-the-visitor" in original
    await paste(widget, original, "image/png", "image.png")

    # The visitor sees it in their log; the agent sees the thumbnail in the console.
    await expect(widget.get_by_test_id("attachment-thumbnail")).to_be_visible()
    thumb = alice.get_by_test_id("attachment-thumbnail")
    await expect(thumb).to_be_visible()
    await expect(message_with(alice, "image.png", "visitor")).to_be_visible()
    size = await thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [320, 240]
    # What the console was served is the server's own image: no chunk of the upload in it.
    served = await thumb.evaluate(
        """async (img) => {
          const r = await fetch(img.src);
          const bytes = new Uint8Array(await r.arrayBuffer());
          return [r.headers.get("content-type"), r.headers.get("content-security-policy"),
                  Array.from(bytes).map((b) => String.fromCharCode(b)).join("")];
        }"""
    )
    media_type, csp, body = served
    assert media_type == "image/png"
    assert csp.startswith("default-src 'none'; sandbox")
    assert "secret-from-the-visitor" not in body
    whole = await alice.get_by_role("link", name="image.png", exact=True).get_attribute("href")
    assert whole is not None and whole.endswith(await _attachment_id(demo))

    # The agent picks a file in the console (the session cookie and its CSRF header); the
    # visitor sees it, with its thumbnail.
    await alice.get_by_test_id("attach-input").set_input_files(
        files=[{"name": "map.png", "mimeType": "image/png", "buffer": screenshot_png()}]
    )
    await expect(message_with(widget, "map.png", "agent")).to_be_visible()
    await expect(widget.get_by_test_id("attachment-thumbnail")).to_have_count(2)
    await expect(message_with(alice, "map.png", "agent")).to_be_visible()


async def _attachment_id(demo: Demo) -> str:
    conversation = await demo.only_conversation()
    entries = await demo.entries(conversation["id"])
    return str(next(e for e in entries if "attachment" in e["body"])["body"]["attachment"]["id"])


async def test_a_forged_image_is_refused_with_a_visible_error(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    _, widget, alice = await begin_chat(pages, observer)
    forged = b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>" * 10
    await paste(widget, forged, "image/png", "totally-an-image.png")
    error = widget.get_by_test_id("upload-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_text(
        "totally-an-image.png was not sent: the image could not be read"
    )
    # A file that lies about its type is refused too, in words.
    gif = b"GIF89a" + b"\x00" * 30
    await paste(widget, gif, "image/png", "cat.png")
    await expect(error).to_have_text("cat.png was not sent: the file is not what its type says")
    # Nothing reached the agent or the log.
    await expect(alice.get_by_test_id("attachment")).to_have_count(0)
    conversation = await demo.only_conversation()
    assert not [e for e in await demo.entries(conversation["id"]) if "attachment" in e["body"]]
