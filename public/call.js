// One RTCPeerConnection between this page and the other seat of the room, for as long as the
// media between them lasts: it outlives signalling outages (the media is peer to peer), and ends
// only when the room page closes it.
//
// Roles: the side that offers first (the one that came second to the room) is the `offerer`;
// it adds its tracks at once and its `negotiationneeded` sends the first offer. The other side
// answers, adding its own tracks to the transceivers the offer created. Glare (both sides
// offering at once) is settled the "perfect negotiation" way: the answerer is polite (rolls its
// own offer back), the offerer impolite (ignores the colliding offer). Incoming messages, and ICE
// restarts, are handled strictly one after another.
//
// ICE servers: fetched fresh for every attempt to connect (this call's first connection, asked
// for ahead by the room page, and each ICE restart), never reused from an earlier call. When they
// carry a `ttl` (TURN credentials that expire), the call gets fresh ones before they do: at 75 % of
// the ttl the offerer fetches new servers, `setConfiguration`s them and restarts ICE; its offer
// says `restart: true`, and the answerer fetches its own fresh servers before answering. Only the
// offerer ever restarts; should the answerer's credentials run out first (its page may have asked
// well before the call, waiting alone in the room), it asks the offerer with `refresh-ice` at 85 %
// of its own ttl. A refresh asked for while a restart is under way, or after one began that the
// asker had not yet seen, is left out: that restart brings both sides fresh servers (the two
// schedules, the offerer's and the answerer's, often come due within a moment of each other).
//
// Messages (each also carries the call id, added by the room page):
//   { type: "description", description, restart? }   an offer or an answer
//   { type: "candidate", candidate }
//   { type: "refresh-ice", seen }                      answerer → offerer: restart ICE, please
//                                                      (`seen`: the restart offers it had had)

import { fetchIceConfig } from "/ice.js";

const KINDS = ["audio", "video"];
/** The offerer restarts ICE at this fraction of the credentials' ttl, the answerer asks at the second. */
const REFRESH_AT = { offerer: 0.75, answerer: 0.85 };
/** Automatic ICE restarts after the connection failed, before giving up. */
const MAX_FAILED_RESTARTS = 2;
/** Why a restart is asked for when credentials are about to expire. */
const REFRESH = "credentials expire";
/** A call still not up after this long gets a hint. */
const SLOW_CALL_MS = 15_000;

export class Call {
  /**
   * @param {object} o
   * @param {string} o.id              call id, shared by both sides
   * @param {boolean} o.offerer         this side makes the first offer
   * @param {MediaStream|null} o.localStream
   * @param {(msg: object) => void} o.send      sends a message to the other side
   * @param {() => boolean} o.canSignal         whether a message sent now reaches the other side
   * @param {object} o.on    { change(call), track(remoteStream), error(err) }
   * @param {() => Promise<import("/ice.js").IceConfig>} [o.iceConfig]
   */
  constructor({ id, offerer, localStream, send, canSignal, on, iceConfig = fetchIceConfig }) {
    this.id = id;
    this.offerer = offerer;
    this.polite = !offerer;
    this.localStream = localStream;
    this.send = send;
    this.canSignal = canSignal;
    this.on = on;
    this.iceConfig = iceConfig;
    this.pc = null;
    this.closed = false;
    this.everConnected = false;
    /** An ICE restart is under way (its offer sent, the connection not back yet). */
    this.restarting = false;
    /**
     * ICE restarts of this call so far: begun here (the offerer), or restart offers received
     * (the answerer).
     */
    this.restarts = 0;
    /** The offerer's restart is between its start and its offer. */
    this.restartBusy = false;
    this.failedRestarts = 0;
    this.slow = false;
    /** What happened, for diagnostics and tests: { at (Date.now()), what, … }. */
    this.events = [];
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.mediaAttached = false;
    this.pendingCandidates = [];
    this.restartNext = false;
    this.refreshTimer = 0;
    this.slowTimer = setTimeout(() => {
      this.slow = true;
      this.#changed();
    }, SLOW_CALL_MS);
    this.remoteStream = new MediaStream();
    this.queue = this.#open();
    this.queue.catch((err) => this.#error(err));
  }

  /** The connection state, the same in every browser ("new" until the connection exists). */
  get state() {
    const pc = this.pc;
    if (!pc) return this.closed ? "closed" : "new";
    if ("connectionState" in pc) return pc.connectionState;
    const ice = pc.iceConnectionState;
    return { checking: "connecting", completed: "connected" }[ice] ?? ice;
  }

  /** Handles one message from the other side (in arrival order). */
  handle(msg) {
    return this.#enqueue(() => this.#handle(msg));
  }

  /**
   * Restarts ICE with fresh ICE servers: the offerer does it, the answerer asks the offerer to.
   * Used when the connection failed or broke, and before credentials expire.
   */
  restartIce(reason) {
    if (!this.offerer) {
      this.#log("ask-restart", { reason, seen: this.restarts });
      this.send({ type: "refresh-ice", seen: this.restarts });
      return Promise.resolve();
    }
    this.#log("restart-wanted", { reason });
    // A refresh is met by any restart under way now or begun later: it fetches fresh servers.
    const before = this.restarts - (this.restartBusy ? 1 : 0);
    return this.#enqueue(() =>
      reason === REFRESH && this.restarts > before ? this.#log("restart-skipped", { reason }) : this.#restart(reason),
    );
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.refreshTimer);
    clearTimeout(this.slowTimer);
    for (const track of this.remoteStream.getTracks()) this.remoteStream.removeTrack(track);
    try {
      this.pc?.close();
    } catch {}
  }

  #enqueue(job) {
    this.queue = this.queue.then(() => (this.closed ? undefined : job())).catch((err) => this.#error(err));
    return this.queue;
  }

  #error(err) {
    if (!this.closed) this.on.error(err);
  }

  #log(what, extra = {}) {
    this.events.push({ at: Date.now(), what, ...extra });
    if (this.events.length > 100) this.events.shift();
  }

  /** Fetches this attempt's ICE servers and makes the connection. */
  async #open() {
    const config = await this.#freshIceConfig();
    if (this.closed) return;
    let pc;
    try {
      pc = new RTCPeerConnection({ iceServers: config.iceServers });
    } catch (err) {
      // A configuration the browser refuses (a malformed URL): better no servers than no call.
      console.warn("ICE servers refused, using none:", err?.message ?? err);
      pc = new RTCPeerConnection({ iceServers: [] });
    }
    this.pc = pc;
    pc.addEventListener("icecandidate", ({ candidate }) => {
      if (this.closed || !candidate || !candidate.candidate) return;
      this.send({ type: "candidate", candidate: candidate.toJSON() });
    });
    pc.addEventListener("track", ({ track }) => {
      if (this.closed) return;
      if (!this.remoteStream.getTrackById(track.id)) this.remoteStream.addTrack(track);
      this.on.track(this.remoteStream);
    });
    pc.addEventListener("negotiationneeded", () => this.#enqueue(() => this.#negotiate()));
    pc.addEventListener("connectionstatechange", () => this.#stateChanged());
    // Browsers without connectionState report through the ICE state only.
    if (!("connectionState" in pc)) {
      pc.addEventListener("iceconnectionstatechange", () => this.#stateChanged());
    }
    this.#scheduleRefresh(config);
    if (this.offerer) this.#attachMedia();
  }

  async #freshIceConfig() {
    const config = await this.iceConfig();
    this.#log("ice-servers", { ttl: config.ttl, fetchedAt: config.fetchedAt });
    return config;
  }

  /** Arms the credentials' refresh, when they expire. */
  #scheduleRefresh({ ttl, fetchedAt }) {
    clearTimeout(this.refreshTimer);
    if (!ttl || this.closed) return;
    const at = fetchedAt + ttl * 1000 * (this.offerer ? REFRESH_AT.offerer : REFRESH_AT.answerer);
    this.refreshTimer = setTimeout(() => this.restartIce(REFRESH), Math.max(0, at - Date.now()));
  }

  /** Fresh servers for the next gathering (an ICE restart uses them). */
  async #refreshIceServers() {
    const config = await this.#freshIceConfig();
    if (this.closed) return;
    const { certificates, ...current } = this.pc.getConfiguration();
    try {
      this.pc.setConfiguration({ ...current, iceServers: config.iceServers });
    } catch (err) {
      console.warn("Fresh ICE servers refused, keeping the old ones:", err?.message ?? err);
    }
    this.#scheduleRefresh(config);
  }

  async #restart(reason) {
    const pc = this.pc;
    if (!pc || pc.signalingState === "closed") return;
    this.restarts += 1;
    this.restartBusy = true;
    try {
      await this.#refreshIceServers();
      if (this.closed) return;
      // An offer that never got its answer (sent while signalling was down) is taken back first,
      // or the restart would wait behind it forever.
      if (pc.signalingState === "have-local-offer") await pc.setLocalDescription({ type: "rollback" });
      this.#log("restart", { reason });
      this.restarting = true;
      this.restartNext = true;
      pc.restartIce(); // fires negotiationneeded: #negotiate sends the offer
    } finally {
      this.restartBusy = false;
    }
    this.#changed();
  }

  /** Adds the local tracks, and asks to receive whatever kind this side does not send. */
  #attachMedia() {
    if (this.mediaAttached) return;
    this.mediaAttached = true;
    const tracks = this.localStream?.getTracks() ?? [];
    for (const kind of KINDS) {
      const track = tracks.find((t) => t.kind === kind && t.readyState === "live");
      if (track) {
        // After a remote offer this reuses the transceiver the offer created.
        this.pc.addTrack(track, this.localStream);
      } else if (!this.pc.getTransceivers().some((t) => t.receiver.track?.kind === kind)) {
        this.pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
  }

  async #negotiate() {
    const pc = this.pc;
    if (pc.signalingState !== "stable") return; // fires again once stable
    const restart = this.restartNext;
    this.restartNext = false;
    try {
      this.makingOffer = true;
      await pc.setLocalDescription();
      if (this.closed) return;
      const msg = { type: "description", description: pc.localDescription.toJSON() };
      if (restart) msg.restart = true;
      this.send(msg);
    } finally {
      this.makingOffer = false;
    }
  }

  async #handle(msg) {
    const pc = this.pc;
    if (msg.type === "refresh-ice") {
      if (!this.offerer) return;
      const reason = "asked by the other side";
      this.#log("restart-wanted", { reason, seen: msg.seen });
      // A restart the other side had not seen when it asked is on its way to it (a page from
      // before this field, without `seen`, gets its restart as it always did). Should that
      // restart's offer be lost with the signalling, the call's failure restarts still apply.
      if (Number.isInteger(msg.seen) && this.restarts > msg.seen) return this.#log("restart-skipped", { reason });
      await this.#restart(reason);
    } else if (msg.type === "description") {
      const description = msg.description;
      if (!description || (description.type !== "offer" && description.type !== "answer")) return;
      if (description.type === "answer" && pc.signalingState !== "have-local-offer") return; // stale
      const collision = description.type === "offer" && (this.makingOffer || pc.signalingState !== "stable");
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      if (description.type === "offer" && msg.restart) {
        this.restarts += 1;
        this.#log("restart", { reason: "the other side restarted" });
        await this.#refreshIceServers();
        if (this.closed) return;
      }
      if (collision && pc.signalingState === "have-local-offer") {
        await pc.setLocalDescription({ type: "rollback" });
      }
      await pc.setRemoteDescription(description);
      if (this.closed) return;
      if (description.type === "offer") {
        this.#attachMedia();
        await pc.setLocalDescription();
        if (this.closed) return;
        this.send({ type: "description", description: pc.localDescription.toJSON() });
      }
      const pending = this.pendingCandidates.splice(0);
      for (const candidate of pending) await this.#addCandidate(candidate);
    } else if (msg.type === "candidate") {
      if (!msg.candidate || typeof msg.candidate !== "object") return;
      if (!pc.remoteDescription) {
        // Early (an offer we are about to get) or for an offer we ignored; bounded either way.
        if (this.pendingCandidates.length < 64) this.pendingCandidates.push(msg.candidate);
        return;
      }
      await this.#addCandidate(msg.candidate);
    }
  }

  async #addCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      // Candidates of an offer we chose to ignore, or of an ICE generation already replaced.
      if (!this.ignoreOffer && !this.closed) console.warn("Ignored an ICE candidate:", err.message);
    }
  }

  #stateChanged() {
    if (this.closed) return;
    const state = this.state;
    if (state === "connected") {
      this.everConnected = true;
      this.restarting = false;
      this.failedRestarts = 0;
      this.slow = false;
      clearTimeout(this.slowTimer);
    }
    // An ICE restart often rescues a path that broke (a network change); the offerer drives it,
    // when its offer can reach the other side (otherwise the room page restarts it on reconnect).
    if (state === "failed") {
      // Each side counts the failures; the offerer restarts, and the answerer waits for its
      // offer, until both give up (the page then offers "Try again").
      const again = this.failedRestarts < MAX_FAILED_RESTARTS && this.canSignal();
      this.failedRestarts += 1;
      this.restarting = again;
      if (again && this.offerer) this.restartIce("connection failed");
    }
    this.#changed();
  }

  #changed() {
    if (!this.closed) this.on.change(this);
  }
}
