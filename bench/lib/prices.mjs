// The cost model: Cloudflare's published prices (Workers Paid plan), read on the date below,
// and what turns the call-cost scenario's counts (bench/lib/cost.mjs) into dollars.
//
// Sources, read 2026-12-01:
// - https://developers.cloudflare.com/durable-objects/platform/pricing/ — Durable Objects,
//   Workers Paid: requests "1 million, + $0.15/million", which "Includes HTTP requests, RPC
//   sessions, WebSocket messages, and alarm invocations"; duration "400,000 GB-s, + $12.50/million
//   GB-s". Footnotes: "A request is needed to create a WebSocket connection. There is no charge
//   for outgoing WebSocket messages, nor for incoming WebSocket protocol pings. For compute
//   requests billing-only, a 20:1 ratio is applied to incoming WebSocket messages"; auto-response
//   messages (`setWebSocketAutoResponse`) "will not incur additional wall-clock time, and so they
//   will not be charged"; "Duration billing charges for the 128 MB of memory your Durable Object
//   is allocated, regardless of actual usage"; "Durable Objects are billed for compute duration
//   (wall-clock time) while the Durable Object is actively running or is idle in memory but unable
//   to hibernate. Durable Objects that are idle and eligible for hibernation are not billed for
//   duration, even before the runtime has hibernated them"; "Calling accept() on a WebSocket in
//   an Object will incur duration charges for the entire time the WebSocket is connected".
//   SQLite storage: rows written "First 50 million / month included + $1.00 / million rows",
//   rows read "First 25 billion / month included + $0.001 / million rows", "Each setAlarm() is
//   billed as a single row written", "Deletes are counted as rows written" (we count a
//   deleteAlarm() as one row written too; the page does not say).
//   Cloudflare's own examples convert seconds to GB-s as seconds × 128 MB ÷ 1 GB (= × 0.128).
// - https://developers.cloudflare.com/workers/platform/pricing/ — Workers Standard: requests "10
//   million included per month, +$0.30 per additional million", CPU time "30 million CPU
//   milliseconds included per month, +$0.02 per additional million CPU milliseconds", requests to
//   static assets "free and unlimited"; the Paid plan is "a minimum charge of $5 USD per month".
// - The VM: Hetzner Cloud cx23 (2 vCPU, 4 GB RAM, 40 GB disk), €0.006 per hour, about €4.11 per
//   month, as listed on https://docs.cnap.tech/compute/providers/hetzner (read 2026-12-01; a
//   third party's table of Hetzner's prices: Hetzner's own page was not in reach). Converted at
//   $1.16 per euro (an assumption, not a quoted rate). Public IPv4 address, backups and traffic
//   beyond the included allowance not counted.

export const PRICES_READ = "2026-12-01";

export const PRICES = {
  doRequestPerMillion: 0.15,
  doGbSecondPerMillion: 12.5,
  gbPerObject: 0.128,
  wsMessagesPerRequest: 20,
  rowWrittenPerMillion: 1.0,
  rowReadPerMillion: 0.001,
  workerRequestPerMillion: 0.3,
  workerCpuMsPerMillion: 0.02,
  // Monthly allowances of the Paid plan, and its minimum.
  included: { doRequests: 1e6, doGbSeconds: 400_000, rowsWritten: 50e6, rowsRead: 25e9, workerRequests: 10e6, workerCpuMs: 30e6 },
  planMinimum: 5,
  vm: { name: "Hetzner Cloud cx23 (2 vCPU, 4 GB)", eurPerMonth: 4.11, usdPerEur: 1.16 },
};

/** Billable quantities of a call's units (bench/lib/cost.mjs `units`). */
export function billable(u, p = PRICES) {
  return {
    doRequests: u.doRequests + u.wsMessages / p.wsMessagesPerRequest,
    doGbSeconds: u.awakeSec * p.gbPerObject,
    rowsWritten: u.rowsWritten,
    rowsRead: u.rowsRead,
    workerRequests: u.workerRequests,
    // The Worker's own CPU is not separated from the object's in one workerd process; it routes
    // a handful of requests per call (under a millisecond each), so it is left out.
    workerCpuMs: 0,
  };
}

/** Marginal dollars (beyond the plan's allowances) of billable quantities `b`, by item. */
export function dollars(b, p = PRICES) {
  const items = {
    requests: (b.doRequests * p.doRequestPerMillion) / 1e6,
    duration: (b.doGbSeconds * p.doGbSecondPerMillion) / 1e6,
    rowsWritten: (b.rowsWritten * p.rowWrittenPerMillion) / 1e6,
    rowsRead: (b.rowsRead * p.rowReadPerMillion) / 1e6,
    workerRequests: (b.workerRequests * p.workerRequestPerMillion) / 1e6,
    workerCpu: (b.workerCpuMs * p.workerCpuMsPerMillion) / 1e6,
  };
  return { ...items, total: Object.values(items).reduce((a, x) => a + x, 0) };
}

/** The month's bill for `calls` calls of billable quantities `b` each, allowances and minimum in. */
export function monthly(b, calls, p = PRICES) {
  const over = (q, inc) => Math.max(0, q * calls - inc);
  const inc = p.included;
  const usage = dollars(
    {
      doRequests: over(b.doRequests, inc.doRequests),
      doGbSeconds: over(b.doGbSeconds, inc.doGbSeconds),
      rowsWritten: over(b.rowsWritten, inc.rowsWritten),
      rowsRead: over(b.rowsRead, inc.rowsRead),
      workerRequests: over(b.workerRequests, inc.workerRequests),
      workerCpuMs: over(b.workerCpuMs, inc.workerCpuMs),
    },
    p,
  ).total;
  return p.planMinimum + usage;
}

/** The VM's monthly price in dollars (whatever the number of calls). */
export function vmMonthly(p = PRICES) {
  return p.vm.eurPerMonth * p.vm.usdPerEur;
}
