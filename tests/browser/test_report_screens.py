"""The Reports screen: Sam (supervisor of sales in the demo) asks for today's report after a
chat was answered, sees it in the tiles, the chart and the table, and downloads a table as
CSV."""

from __future__ import annotations

from playwright.async_api import expect
from tests.browser.helpers import Observer, Pages, begin_chat, login_agent


async def test_a_supervisor_reads_todays_report(pages: Pages, observer: Observer) -> None:
    _, _, alice = await begin_chat(pages, observer, name="Rita")
    sam = await pages.new("sam")
    await login_agent(sam, "sam", presence=None)
    await sam.get_by_role("button", name="Reports", exact=True).click()
    await expect(sam.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    await sam.get_by_label("Workgroup").select_option(label="Sales")
    await sam.get_by_role("button", name="Show").click()
    await expect(sam.get_by_test_id("total-answered")).to_have_text("1")
    await expect(sam.get_by_test_id("total-requests")).to_have_text("1")
    # Charts have a text alternative; the table has a row per day of the range and a total.
    await expect(sam.get_by_role("img").first).to_have_attribute(
        "aria-label", "Requests per period: 7 periods, highest 1."
    )
    async with sam.expect_download() as info:
        await sam.get_by_test_id("csv-periods").click()
    download = await info.value
    path = await download.path()
    lines = path.read_text().splitlines()
    assert lines[0].startswith("period,start,requests,answered")
    assert len(lines) == 1 + 7
    assert alice is not None
