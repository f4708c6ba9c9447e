"""A rating after the end appears in the report: Dana's chat with Alice ends, Sam's report of
today shows no rating yet; Dana rates the chat 4 in the widget, and Sam's report, asked again,
shows one rating averaging 4 (the tile, the table's total and Alice's row)."""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect
from tests.browser.helpers import (
    Observer,
    Pages,
    begin_chat,
    login_agent,
    message_with,
    send,
)


async def column_cell(page: Page, table: Locator, row: Locator, label: str) -> Locator:
    """The cell of ``row`` under the column headed ``label`` (the first column is the row's
    header, so the index of the header is the index of the cell among the row's children)."""
    headers = await table.locator("thead th").all_inner_texts()
    index = headers.index(label)
    return row.locator("th, td").nth(index)


async def test_a_rating_after_the_end_appears_in_the_report(
    pages: Pages, observer: Observer
) -> None:
    visitor, widget, alice = await begin_chat(pages, observer)
    await send(alice, "Glad to help!")
    await expect(message_with(widget, "Glad to help!", "agent")).to_be_visible()
    await widget.get_by_role("button", name="End chat", exact=True).click()
    rating = widget.get_by_test_id("rating")
    await expect(rating).to_be_visible()

    sam = await pages.new("sam")
    await login_agent(sam, "sam", presence=None)
    await sam.get_by_role("button", name="Reports", exact=True).click()
    await sam.get_by_label("Workgroup").select_option(label="Sales")
    await sam.get_by_role("button", name="Show").click()
    await expect(sam.get_by_test_id("total-answered")).to_have_text("1")
    await expect(sam.get_by_test_id("total-rating_avg")).to_have_text("\N{EN DASH}")
    periods = sam.locator("table.report-table").first
    total = periods.locator("tfoot tr")
    await expect(await column_cell(sam, periods, total, "Ratings")).to_have_text("0")

    # After the end: the customer rates the chat.
    await rating.get_by_role("radio", name="4 stars: good").check()
    await rating.get_by_role("button", name="Send rating").click()
    await expect(widget.get_by_test_id("rating-thanks")).to_be_visible()

    await sam.get_by_role("button", name="Show").click()
    await expect(sam.get_by_test_id("total-rating_avg")).to_have_text("4.00")
    await expect(await column_cell(sam, periods, total, "Ratings")).to_have_text("1")
    await expect(await column_cell(sam, periods, total, "Rated 4\N{EN DASH}5")).to_have_text(
        "100 %"
    )
    agents = sam.locator("table.report-table").nth(1)
    row = agents.locator("tbody tr").filter(has=sam.get_by_role("rowheader", name="Alice"))
    await expect(await column_cell(sam, agents, row, "Ratings")).to_have_text("1")
    await expect(await column_cell(sam, agents, row, "Avg rating")).to_have_text("4.00")
    assert visitor is not None
