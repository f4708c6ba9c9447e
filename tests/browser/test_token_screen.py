"""The console's API tokens screen, and the console refusing to be framed (even by a page of
the same site, even at /static/console/index.html) while the widget's page may be."""

from __future__ import annotations

from playwright.async_api import expect
from tests.browser.helpers import Demo, Pages, login_agent


async def test_an_agent_creates_uses_and_revokes_an_api_token(demo: Demo, pages: Pages) -> None:
    alice = await pages.new("alice")
    await login_agent(alice, "alice", presence=None)
    await alice.get_by_role("button", name="API tokens", exact=True).click()
    await expect(alice.get_by_test_id("tokens-empty")).to_be_visible()
    await alice.get_by_label("Token name").fill("deploy bot")
    await alice.get_by_label("Expires in (days)").fill("30")
    await alice.get_by_role("button", name="Create token", exact=True).click()
    shown = alice.get_by_test_id("new-token").locator("input")
    await expect(shown).not_to_have_value("")
    token = await shown.input_value()
    item = alice.get_by_test_id("api-token")
    await expect(item).to_contain_text("deploy bot")
    await expect(item.get_by_test_id("token-last-used")).to_have_text("never")
    assert token not in (await item.inner_text())

    async with demo.node.http(headers={"Authorization": f"Bearer {token}"}) as script:
        me = await script.get("/api/v1/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["user"]["username"] == "alice"
        # The screen reads the list again when opened: the use shows.
        await alice.get_by_role("button", name="Chats", exact=True).click()
        await alice.get_by_role("button", name="API tokens", exact=True).click()
        await expect(item.get_by_test_id("token-last-used")).not_to_have_text("never")

        await alice.get_by_role("button", name="Revoke deploy bot", exact=True).click()
        await expect(alice.get_by_test_id("tokens-empty")).to_be_visible()
        assert (await script.get("/api/v1/auth/me")).status_code == 401


async def test_the_console_cannot_be_framed_the_widget_can(demo: Demo, pages: Pages) -> None:
    page = await pages.new("attacker")
    await login_agent(page, "alice", presence=None)  # the cookie a framed console would use
    await page.goto("/demo/")  # a page of the same site
    await page.evaluate(
        """() => {
            for (const [id, src] of [["widget", "/widget/?workgroup=sales"],
                                     ["console", "/console/"],
                                     ["static", "/static/console/index.html"]]) {
                const frame = document.createElement("iframe");
                frame.id = id;
                frame.src = src;
                document.body.appendChild(frame);
            }
        }"""
    )
    # The widget loads (the demo site is Parley's own origin: 'self')...
    await expect(page.frame_locator("#widget").get_by_label("Name", exact=True)).to_be_visible()
    # ...the console, by either path, does not.
    for frame_id in ["console", "static"]:
        frame = page.frame_locator(f"#{frame_id}")
        await expect(frame.get_by_role("button", name="Log out")).to_have_count(0)
        await expect(frame.get_by_label("Username")).to_have_count(0)
