// REST calls for routing: a workgroup's queues and rules, the rule tester, agents' skills and
// the manual-pick list. Mirrors src/parley/web/routing_api.py.

import type { ChatMetadata, Waiting } from "../shared/protocol";
import { api } from "./api";

export type Strategy = "best" | "round_robin" | "broadcast" | "manual";
export type OverflowAction = "stay" | "queue" | "any";

export interface QueueIn {
  name: string;
  strategy: Strategy;
  /** Skill -> minimum level (1-10). */
  skills: Record<string, number>;
  overflow_action: OverflowAction;
  overflow_secs: number | null;
  /** The backup queue's name, for overflow_action "queue". */
  overflow_target: string | null;
  max_length: number | null;
}

export interface Queue extends QueueIn {
  id: number;
  is_default: boolean;
}

/** A condition's JSON form (see src/parley/domain/rules.py). */
export type ConditionJson =
  | { field: string; op: string; value: string | string[] }
  | { all: ConditionJson[] }
  | { any: ConditionJson[] };

export interface RuleJson {
  name: string;
  condition: ConditionJson;
  queue: string;
  priority: number;
}

/** A saved rule as the server lists it. */
export interface SavedRule extends RuleJson {
  /** Why this saved rule never matches (a pattern RE2 cannot run); null when it is fine. */
  problem?: string | null;
}

export interface RuleTestResult {
  queue: string;
  priority: number;
  /** Index of the matching rule; null: the default queue. */
  rule: number | null;
}

export interface AgentRouting {
  skills: Record<string, number>;
  /** Overrides the workgroups' capacity; null: theirs. */
  max_chats: number | null;
}

const wg = (slug: string) => `/admin/workgroups/${encodeURIComponent(slug)}`;

export const RoutingApi = {
  queues: (slug: string) => api<Queue[]>("GET", `${wg(slug)}/queues`),
  createQueue: (slug: string, body: QueueIn) => api<Queue>("POST", `${wg(slug)}/queues`, body),
  updateQueue: (slug: string, name: string, body: QueueIn) =>
    api<Queue>("PUT", `${wg(slug)}/queues/${encodeURIComponent(name)}`, body),
  deleteQueue: (slug: string, name: string) =>
    api<void>("DELETE", `${wg(slug)}/queues/${encodeURIComponent(name)}`),
  rules: (slug: string) => api<SavedRule[]>("GET", `${wg(slug)}/rules`),
  setRules: (slug: string, rules: RuleJson[]) =>
    api<SavedRule[]>("PUT", `${wg(slug)}/rules`, { rules }),
  testRules: (slug: string, metadata: ChatMetadata, rules?: RuleJson[]) =>
    api<RuleTestResult>("POST", `${wg(slug)}/rules/test`, { metadata, rules }),
  agentRouting: (username: string) =>
    api<AgentRouting>("GET", `/admin/users/${encodeURIComponent(username)}/routing`),
  setAgentRouting: (username: string, body: AgentRouting) =>
    api<AgentRouting>("PUT", `/admin/users/${encodeURIComponent(username)}/routing`, body),
  waiting: () => api<Waiting[]>("GET", "/waiting"),
  claim: (conversationId: string) =>
    api<{ conversation_id: string }>("POST", `/waiting/${encodeURIComponent(conversationId)}/claim`),
};
