// The wire protocol, as TypeScript types. The source of truth is src/parley/protocol.py and
// docs/protocol.schema.json; keep these in step with it.

export interface Participant {
  key: string;
  role: string;
  name: string;
  present: boolean;
}

export interface Entry {
  seq: number;
  /** `note`: a private note, only staff see it. `hidden`: what a visitor gets in a note's place
   * (same seq, empty body, no author): skip it, but keep its seq for the cursor. */
  /** `away` and `back` (staff only): the customer left (every socket closed beyond the grace
   * time; body `ends_in_secs`) or came back. */
  kind: "message" | "queued" | "joined" | "left" | "ended" | "note" | "hidden" | "topic" | "away" | "back" | "cobrowse";
  author: string | null;
  body: { text?: string; name?: string; role?: string; reason?: string; [key: string]: unknown };
  client_id: string | null;
  created_at: string;
}

export interface ChatMetadata {
  name?: string;
  email?: string;
  question?: string;
  page?: string;
  extra?: Record<string, string>;
  /** The extra fields' labels as the form showed them (chats since labels were kept). */
  extra_labels?: Record<string, string>;
  /** Hidden fields the company's page passed (not verified), absent when none. */
  fields?: Record<string, string>;
  /** The page that brought the visitor to `page`, absent when unknown. */
  referrer?: string;
}

export interface Conversation {
  id: string;
  kind: string;
  status: "queued" | "active" | "ended";
  workgroup_id: number | null;
  last_seq: number;
  created_at: string;
  ended_at: string | null;
  end_reason: string | null;
  /** The pre-chat form as the visitor typed it: never an identity. */
  metadata: ChatMetadata;
  participants: Participant[];
  /** The customer's identity was verified (a token the company's backend signed). */
  verified?: boolean;
  /** What the company's backend signed; null for an anonymous visitor. */
  customer?: VerifiedCustomer | null;
  /** Rooms and back-channels (staff IM): name, topic, visibility, the back-channel's chat. */
  room?: RoomInfo | null;
  /** The first seq still kept: the archiving policy removed the entries before it (staff
   * conversations only; 1, or absent, when nothing was removed). */
  history_starts_at_seq?: number;
}

/** `conversation.room` of a staff room or back-channel. */
export interface RoomInfo {
  name: string;
  topic: string;
  visibility: "open" | "private";
  customer_conversation_id: string | null;
}

/** A verified customer (`conversation.customer`). */
export interface VerifiedCustomer {
  /** The customer's id in the company's system. */
  sub: string;
  email: string;
  name: string;
}

export interface Offer {
  offer_id: string;
  conversation_id: string;
  workgroup_id: number;
  offered_at: string;
  expires_at: string;
  metadata: ChatMetadata;
  /** The queue the request waits in (absent from older servers). */
  queue_name?: string;
  /** Offered to several agents at once: the first to accept gets it. */
  broadcast?: boolean;
  /** Handed on by another agent (a transfer): who, and their note. Null for ordinary offers. */
  transfer?: TransferInfo | null;
  /** The customer's identity was verified; `metadata` is only what they typed. */
  verified?: boolean;
}

/** Who handed a chat on, and their note for the receiver (`offer.transfer`). */
export interface TransferInfo {
  from_user_id: number;
  from_name: string;
  note: string;
}

/** Where a chat can be transferred to. */
export type TransferKind = "agent" | "queue" | "workgroup";

/** What the agent records when ending a chat. */
export type Outcome = "resolved" | "escalated" | "follow_up";

/** A request waiting in a manual-pick queue (`GET /api/v1/waiting`). */
export interface Waiting {
  conversation_id: string;
  workgroup_id: number;
  queue_id: number;
  queue_name: string;
  position: number;
  priority: number;
  waiting_secs: number;
  metadata: ChatMetadata;
}

/** An invitation into a chat, for the invitee and the inviter. */
export interface Invitation {
  invitation_id: string;
  conversation_id: string;
  workgroup_id: number | null;
  from_user_id: number;
  from_name: string;
  to_user_id: number;
  to_name: string;
  note: string;
  created_at: string;
  expires_at: string;
  metadata: ChatMetadata;
}

/** A message a visitor left when nobody could chat (the console's inbox). */
export interface LeftMessage {
  /** The message's public id: 32 random hex digits (not a counter). */
  id: string;
  workgroup: string;
  conversation_id: string | null;
  name: string;
  email: string;
  message: string;
  page: string;
  created_at: string;
  status: "new" | "taken" | "done";
  taken_by: number | null;
  taken_by_name: string | null;
  taken_at: string | null;
  done_at: string | null;
  emailed_at: string | null;
  email_attempts: number;
  last_email_error: string | null;
}

export type Presence = "available" | "away" | "busy" | "offline";

/** A workgroup's wallboard settings (docs/metrics.md, "Live (wallboard)"). */
export interface SupervisionSettings {
  sl_target_secs: number;
  sl_goal_percent: number;
  alert_waiting: number | null;
  alert_longest_wait_secs: number | null;
  alert_asa_secs: number | null;
  alert_abandoned: number | null;
  stalled_secs: number;
  sound: boolean;
  show_monitoring: boolean;
  /** The widget asks the customer to rate the chat when it ends (true when left out). */
  ratings?: boolean;
}

/** One queue's live numbers (`queue_id` null: the whole workgroup). */
export interface QueueTile {
  queue_id: number | null;
  name: string;
  waiting: number;
  longest_wait_secs: number;
  answered: number;
  abandoned: number;
  expired: number;
  answered_in_target: number;
  /** 0..1; null while nothing counts. */
  service_level: number | null;
  asa_secs: number | null;
  /** What is over its threshold: waiting, longest_wait, service_level, asa, abandoned. */
  alerts: string[];
}

export interface AgentTile {
  user_id: number;
  name: string;
  presence: Presence;
  secs_in_state: number;
  chats: number;
  capacity: number;
}

/** An active customer chat on the wallboard's live chats list. */
export interface LiveChat {
  conversation_id: string;
  workgroup_id: number;
  /** What the visitor typed: render as text. */
  customer: string;
  queue_id: number | null;
  queue_name: string;
  agents: { user_id: number; name: string }[];
  created_at: string;
  wait_secs: number | null;
  duration_secs: number;
  idle_secs: number;
  stalled: boolean;
}

export interface Wallboard {
  workgroup_id: number;
  slug: string;
  name: string;
  at: string;
  day_start: string;
  settings: SupervisionSettings;
  total: QueueTile;
  queues: QueueTile[];
  agents: AgentTile[];
  by_presence: Record<string, number>;
  occupancy: number | null;
  chats: LiveChat[];
  alerts: string[];
}

export interface Welcome {
  type: "welcome";
  session: {
    kind: "visitor" | "staff";
    user_id: number | null;
    username: string | null;
    name: string | null;
    role: string | null;
    conversation_id: string | null;
  };
  node_id: string;
  heartbeat_secs: number;
  max_message_chars: number;
  server_time: string;
  /** Staff: after this long without input, send `idle` (0 or absent: never). */
  idle_away_secs?: number;
}

export type ServerMessage =
  | Welcome
  | { type: "conversation"; conversation: Conversation }
  | { type: "entry"; conversation_id: string; entry: Entry }
  | { type: "synced" }
  | { type: "ack"; ref: string | null; conversation_id: string; entry: Entry }
  | { type: "ok"; ref: string | null }
  | { type: "pong"; ref: string | null }
  | {
      type: "error";
      ref: string | null;
      code: string;
      message: string;
      conversation_id?: string | null;
      /** With `rate_limited`: send the refused message again after this many seconds. */
      retry_after?: number | null;
    }
  | {
      type: "queue";
      conversation_id: string;
      status: "waiting" | "accepted" | "cancelled" | "expired";
      position: number | null;
      /** While waiting: the estimated wait, from the queue's recent real waits (null: unknown). */
      estimated_wait_secs?: number | null;
    }
  | { type: "typing"; conversation_id: string; participant: string; name: string; active: boolean }
  | {
      type: "presence";
      user_id: number;
      presence: Presence;
      status_text: string;
      /** The away was made by idle browsers (it turns back by itself). */
      idle?: boolean;
    }
  | {
      /** A staff member's new title or photo (or display name). */
      type: "staff_profile";
      user_id: number;
      display_name: string;
      title: string;
      /** Changes with every new photo; null without one. */
      photo_url: string | null;
    }
  | { type: "offer"; offer: Offer }
  | { type: "offer_ended"; offer_id: string; reason: string }
  | { type: "waiting_changed"; workgroup_id: number }
  | { type: "left_message"; message: LeftMessage }
  | { type: "invitation"; invitation: Invitation }
  | {
      type: "invitation_ended";
      invitation_id: string;
      conversation_id: string;
      reason: "accepted" | "declined" | "timed_out" | "cancelled";
    }
  | {
      /** For the agent who asked for a transfer (see `TransferInfo`). */
      type: "transfer";
      conversation_id: string;
      status: "pending" | "accepted" | "failed" | "cancelled";
      to_name?: string | null;
    }
  | {
      /** To supervisors and admins: a stored message matched a blocked-word rule that reports
       * it (`notify`, or a confirmed `warn`). */
      type: "blocked_word";
      conversation_id: string;
      actor: string;
      scope: string;
      rules: number[];
      words: string[];
    }
  | {
      /** To a member mentioned (`@username`) in a staff conversation. */
      type: "mention";
      conversation_id: string;
      conversation_kind: string;
      seq: number;
      author: string;
      name: string;
      text: string;
    }
  | {
      /** After `supervise`: a workgroup's whole board; null: no longer yours. */
      type: "wallboard";
      workgroup_id: number;
      board: Wallboard | null;
    }
  | {
      /** Who watches a chat now (where the workgroup shows it); never to a visitor. */
      type: "watching";
      conversation_id: string;
      watchers: { user_id: number; name: string }[];
    }
  | { type: "reconnect"; reason: string };

export type HelloAuth = { visitor_token: string } | { token: string } | Record<string, never>;
