// The inbox's pure pieces: keeping the list of left messages current from the REST listing and
// the live `left_message` notifications, the reply link, and the business-hours editor's text
// form (one line per weekday, "mon 09:00-12:00 13:00-17:30"). No DOM: tested alone.

import type { LeftMessage } from "../shared/protocol";

export type InboxFilter = "new" | "taken" | "done" | "all";

/** Newest first, each message once (a notification replaces the copy it updates). Ids are
 * random, so the order is the messages' times; the sort is stable, so of two left in the same
 * instant the one the list already held keeps its place. */
export function upsertMessage(list: LeftMessage[], message: LeftMessage): LeftMessage[] {
  const at = (m: LeftMessage) => Date.parse(m.created_at);
  const index = list.findIndex((m) => m.id === message.id);
  const next = index >= 0 ? list.map((m, i) => (i === index ? message : m)) : [message, ...list];
  return next.sort((a, b) => at(b) - at(a));
}

export function visibleMessages(list: LeftMessage[], filter: InboxFilter): LeftMessage[] {
  return filter === "all" ? list : list.filter((m) => m.status === filter);
}

/** A mailto: link answering the visitor; no header can be added through what they wrote. */
export function replyHref(message: LeftMessage, workgroupName: string): string {
  const oneLine = (s: string) => s.replace(/[\r\n]+/g, " ").trim();
  const subject = `Re: your message to ${oneLine(workgroupName)}`;
  const quoted = message.message
    .split(/\r?\n/)
    .map((line) => `> ${line}`)
    .join("\n");
  const body = `Hello ${oneLine(message.name)},\n\n\n\n${quoted}\n`;
  return `mailto:${encodeURIComponent(oneLine(message.email))}?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body)}`;
}

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface Hours {
  timezone: string;
  weekly: Partial<Record<Weekday, string[]>> | null;
  holidays: string[];
  closed_by_hand: boolean;
}

export interface WorkgroupHours {
  hours: Hours | null;
  email: string;
  queue_without_agents: boolean;
}

/** "mon 09:00-12:00 13:00-17:30" per line, days without hours left out. */
export function formatWeekly(weekly: Hours["weekly"]): string {
  if (!weekly) return "";
  return WEEKDAYS.filter((d) => weekly[d]?.length)
    .map((d) => `${d} ${(weekly[d] ?? []).join(" ")}`)
    .join("\n");
}

/** The inverse of ``formatWeekly``; throws an Error naming the line it cannot read. The
 * intervals themselves are checked by the server (it says what is wrong with them). */
export function parseWeekly(text: string): Partial<Record<Weekday, string[]>> {
  const weekly: Partial<Record<Weekday, string[]>> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    const [day, ...intervals] = line.split(/[\s,]+/);
    const key = day.toLowerCase().slice(0, 3) as Weekday;
    if (!WEEKDAYS.includes(key)) throw new Error(`"${line}": start with a weekday (mon … sun)`);
    weekly[key] = [...(weekly[key] ?? []), ...intervals];
  }
  return weekly;
}

export function parseHolidays(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}
