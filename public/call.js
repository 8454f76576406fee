// One RTCPeerConnection between this page and the other seat of the room.
//
// Roles: the peer that got `joined` (the late joiner) is the offerer; it adds its tracks at once
// and its `negotiationneeded` sends the first offer. The peer that was waiting answers, adding
// its own tracks to the transceivers the offer created. Every message carries the call id the
// offerer picked, so anything left over from an earlier call is dropped by the room page.
//
// Glare (both sides offering at once, e.g. during an ICE restart) is settled the "perfect
// negotiation" way: the answerer is polite (rolls its own offer back), the offerer impolite
// (ignores the colliding offer). Incoming messages are handled strictly one after another.

const KINDS = ["audio", "video"];

export class Call {
  /**
   * @param {object} o
   * @param {string} o.id              call id, shared by both sides
   * @param {boolean} o.offerer         this side makes the first offer
   * @param {RTCIceServer[]} o.iceServers
   * @param {MediaStream|null} o.localStream
   * @param {(msg: object) => void} o.send   sends a signalling message to the other side
   * @param {object} o.on    { state(connectionState), track(remoteStream), error(err) }
   */
  constructor({ id, offerer, iceServers, localStream, send, on }) {
    this.id = id;
    this.offerer = offerer;
    this.polite = !offerer;
    this.localStream = localStream;
    this.send = send;
    this.on = on;
    this.closed = false;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.mediaAttached = false;
    this.pendingCandidates = [];
    this.restarts = 0;
    this.queue = Promise.resolve();
    this.remoteStream = new MediaStream();

    const pc = (this.pc = new RTCPeerConnection({ iceServers }));
    pc.addEventListener("icecandidate", ({ candidate }) => {
      if (this.closed || !candidate || !candidate.candidate) return;
      this.send({ type: "candidate", candidate: candidate.toJSON() });
    });
    pc.addEventListener("track", ({ track }) => {
      if (this.closed) return;
      if (!this.remoteStream.getTrackById(track.id)) this.remoteStream.addTrack(track);
      this.on.track(this.remoteStream);
    });
    pc.addEventListener("negotiationneeded", () => this.#negotiate());
    pc.addEventListener("connectionstatechange", () => this.#stateChanged());
    // Browsers without connectionState report through the ICE state only.
    if (!("connectionState" in pc)) {
      pc.addEventListener("iceconnectionstatechange", () => this.#stateChanged());
    }
    if (offerer) this.#attachMedia();
  }

  /** The connection state, the same in every browser. */
  get state() {
    const pc = this.pc;
    if ("connectionState" in pc) return pc.connectionState;
    const ice = pc.iceConnectionState;
    return { checking: "connecting", completed: "connected" }[ice] ?? ice;
  }

  /** Handles one signalling message from the other side (in arrival order). */
  handle(msg) {
    this.queue = this.queue.then(() => this.#handle(msg)).catch((err) => {
      if (!this.closed) this.on.error(err);
    });
    return this.queue;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    for (const track of this.remoteStream.getTracks()) this.remoteStream.removeTrack(track);
    try {
      this.pc.close();
    } catch {}
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
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      if (!this.closed) this.send({ type: "description", description: this.pc.localDescription.toJSON() });
    } catch (err) {
      if (!this.closed) this.on.error(err);
    } finally {
      this.makingOffer = false;
    }
  }

  async #handle(msg) {
    if (this.closed) return;
    const pc = this.pc;
    if (msg.type === "description") {
      const description = msg.description;
      if (!description || (description.type !== "offer" && description.type !== "answer")) return;
      if (description.type === "answer" && pc.signalingState !== "have-local-offer") return; // stale
      const collision = description.type === "offer" && (this.makingOffer || pc.signalingState !== "stable");
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
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
    if (state === "connected") this.restarts = 0;
    // An ICE restart often rescues a path that broke (a network change); the offerer drives it.
    let restarting = false;
    if (state === "failed" && this.offerer && this.restarts < 2) {
      this.restarts += 1;
      try {
        this.pc.restartIce();
        restarting = true;
      } catch {}
    }
    this.on.state(state, { restarting });
  }
}
