/**
 * Every limit of the web inspector in one place. The server keeps nothing unbounded: queues,
 * histories and views all stop at one of these.
 */

/**
 * Events waiting to be written to one viewer (page or Stately tool). A viewer that reads slower
 * than the cluster produces them loses the oldest first, and is told how many it lost.
 */
export const MAX_PENDING_EVENTS_PER_VIEWER = 2000;

/** Events one frame to the page carries at most; the rest go in the next frame. */
export const MAX_EVENTS_PER_FRAME = 500;

/** Recent events a source remembers, replayed to a viewer that connects or after a rewind. */
export const MAX_HISTORY_EVENTS = 400;

/** Learned entries shown per node (the log tail). */
export const MAX_LOG_TAIL_ENTRIES = 5;

/** Messages in flight a view lists at most (the cluster picture draws them). */
export const MAX_INFLIGHT_SHOWN = 200;

/**
 * A message still undelivered this long after its latest possible delivery time was lost to a
 * partition that began while it was in flight (the bus drops those silently).
 */
export const INFLIGHT_GRACE_MS = 5;

/** Real time between two run-loop ticks of a running simulation. */
export const TICK_MS = 50;

/** Real time the run loop advances at most per tick, so a stalled process does not leap ahead. */
export const MAX_TICK_ELAPSED_MS = 250;

/** Scheduler actions one tick runs at most: the event loop stays responsive at any speed. */
export const MAX_ACTIONS_PER_TICK = 2000;

/** How far "step" looks for the next scheduler action before it gives up and just moves the clock. */
export const STEP_HORIZON_MS = 1000;

/** Run speed, in virtual milliseconds per real second. */
export const DEFAULT_SPEED_MS_PER_S = 200;
export const MIN_SPEED_MS_PER_S = 1;
export const MAX_SPEED_MS_PER_S = 100_000;

/** Most client writes one submit control sends. */
export const MAX_WRITES_PER_SUBMIT = 1000;

/** Nodes a new simulation may have. */
export const MAX_SIM_NODES = 9;

/** Minimum real time between two view frames to the page. */
export const VIEW_INTERVAL_MS = 100;

/** Largest message a page may send (a trace file uploaded from the browser). */
export const MAX_CONTROL_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Entries of a Map, Set or array kept when a machine context is copied for Stately tools. */
export const MAX_CONTEXT_ENTRIES = 20;

/** Nesting kept when a machine context is copied for Stately tools. */
export const MAX_CONTEXT_DEPTH = 6;

/** Version of the page protocol (`hello.protocol`). */
export const PAGE_PROTOCOL = 'statekeeper-inspector/1';

/** The @statelyai/inspect protocol version these events follow (its `_version` field). */
export const STATELY_PROTOCOL_VERSION = '0.7.2';

// ---- live ensembles (a real node's admin port) ----

/**
 * Events one node's recorder keeps for the inspectors that read it (its own page, and the pages of
 * the other nodes, which poll it). A ring: when full the oldest is dropped, and a reader that fell
 * behind is told how many it missed.
 */
export const MAX_LIVE_NODE_EVENTS = 4000;

/** Events one `/inspect/node` answer carries at most; a reader that is further behind asks again. */
export const MAX_LIVE_EVENTS_PER_REPORT = 2000;

/**
 * How long a node keeps recording after the last `/inspect/node` request, when no page of its own
 * watches. Readers poll far more often than this; once they stop, recording stops and the ring is
 * emptied, so a node nobody inspects records nothing.
 */
export const LIVE_LEASE_MS = 3000;

/** Real time between two polls of the other nodes while a page watches a live ensemble. */
export const LIVE_POLL_MS = 200;

/** A node that has not answered a poll by then is shown as down (the page never waits longer). */
export const LIVE_PEER_TIMEOUT_MS = 1000;

/** Largest `/inspect/node` answer read from another node. */
export const MAX_LIVE_REPORT_BYTES = 8 * 1024 * 1024;

/**
 * A message sent and not seen arriving this long after it left is no longer drawn in flight (over
 * TCP on a LAN it arrives in well under a millisecond; one that has not was lost with its link, or
 * its receiver is down).
 */
export const LIVE_INFLIGHT_MAX_AGE_MS = 1000;

/** Sends per directed link waiting to be matched with their arrival; older ones are forgotten first. */
export const MAX_LIVE_UNMATCHED_PER_LINK = 500;

/** The cluster view counts the messages of each link over this much recent time. */
export const LIVE_RECENT_WINDOW_MS = 2000;

/** Messages kept for the per-link recent traffic counts (a ring, oldest dropped). */
export const MAX_LIVE_RECENT_MESSAGES = 5000;

/** Version of the node report served at `/inspect/node` (`protocol` field). */
export const LIVE_REPORT_PROTOCOL = 'statekeeper-live/1';
