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
  return { iceServers: [], ttl: null, fetchedAt };
}

/** How long ICE servers asked for ahead of a call attempt stay good for it. */
const AHEAD_MAX_AGE_MS = 30_000;

/**
 * ICE servers asked for ahead of the call attempt about to come: the answering page knows a new
 * call is coming when the `hello` exchange says so, but the call itself only starts with the
 * offer; asking then would put a round trip to the Worker between the offer and the answer.
 * `take()` hands what was asked ahead to one attempt, or asks afresh when nothing was asked
 * ahead or it is older than AHEAD_MAX_AGE_MS. Still one request per call attempt.
 */
export class IceAhead {
  #ahead = null;

  prefetch() {
    this.#ahead = { promise: fetchIceConfig(), at: Date.now() };
  }

  drop() {
    this.#ahead = null;
  }

  /** @returns {Promise<IceConfig>} */
  take() {
    const ahead = this.#ahead;
    this.#ahead = null;
    return ahead && Date.now() - ahead.at < AHEAD_MAX_AGE_MS ? ahead.promise : fetchIceConfig();
  }
}
