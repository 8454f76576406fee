// ICE servers for one call attempt, from the Worker's `GET /config.json`.
//
// The answer is `{"iceServers":[…]}`, plus `"ttl": <seconds>` when the Worker minted TURN
// credentials that expire. It is asked for again for every call attempt (a new call, an ICE
// restart), never cached: minted credentials are short-lived, and a page may stay open for
// days. Beyond the Worker's rate limit the answer is HTTP 429 with the STUN-only servers in the
// same shape, which are used as they are. When there is no answer at all the page uses none
// (`[]`): host candidates still connect two people on one network, and the default STUN server
// lives in the Worker's configuration only.

/**
 * @typedef {object} IceConfig
 * @property {RTCIceServer[]} iceServers
 * @property {number|null} ttl   seconds the credentials stay valid, when they expire
 * @property {number} fetchedAt  `Date.now()` when it was asked for: the credentials were minted
 *   after that, so an expiry counted from here is on the safe side
 * @property {boolean} [failed]  there was no usable answer (the servers are then none)
 */

/** Fetches fresh ICE servers. Never rejects. @returns {Promise<IceConfig>} */
export async function fetchIceConfig() {
  const fetchedAt = Date.now();
  try {
    const res = await fetch("/config.json", { cache: "no-store", credentials: "same-origin" });
    const body = await res.json();
    if (!res.ok) console.warn(`ICE servers: HTTP ${res.status}${body?.error ? ` (${body.error})` : ""}`);
    if (Array.isArray(body?.iceServers)) {
      const ttl = Number.isFinite(body.ttl) && body.ttl > 0 ? body.ttl : null;
      return { iceServers: body.iceServers, ttl, fetchedAt };
    }
  } catch (err) {
    console.warn("ICE servers: no answer, using none:", err?.message ?? err);
  }
  return { iceServers: [], ttl: null, fetchedAt, failed: true };
}

/** How long ICE servers asked for ahead of a call attempt stay good for it when they do not expire. */
const AHEAD_MAX_AGE_MS = 30_000;
/** The share of their ttl for which credentials that expire, asked for ahead, stay good for it. */
const AHEAD_TTL_SHARE = 0.5;

/**
 * ICE servers asked for ahead of the call attempt about to come, so that no round trip to the
 * Worker sits between seat and offer, or offer and answer: the page asks as it loads (the page
 * that comes second offers as soon as it is seated), and again when the `hello` exchange says a
 * new call is coming if what it had is no longer good. `take()` hands what was asked ahead to
 * one attempt, or asks afresh when nothing good was asked ahead. Good: still on its way, or
 * younger than half its ttl (AHEAD_MAX_AGE_MS when it has none). An ahead answer that failed is
 * asked again once by the attempt. Still one request per call attempt, unless a page waits alone
 * longer than that.
 */
export class IceAhead {
  #ahead = null;

  prefetch() {
    if (this.#good()) return;
    const ahead = { config: null };
    ahead.promise = fetchIceConfig().then((config) => (ahead.config = config));
    this.#ahead = ahead;
  }

  drop() {
    this.#ahead = null;
  }

  /** @returns {Promise<IceConfig>} */
  take() {
    const ahead = this.#good() ? this.#ahead : null;
    this.#ahead = null;
    return ahead ? ahead.promise.then((config) => (config.failed ? fetchIceConfig() : config)) : fetchIceConfig();
  }

  #good() {
    const ahead = this.#ahead;
    if (!ahead) return false;
    const { config } = ahead;
    if (!config) return true;
    const age = Date.now() - config.fetchedAt;
    return config.ttl ? age < config.ttl * 1000 * AHEAD_TTL_SHARE : age < AHEAD_MAX_AGE_MS;
  }
}
