// The seat in the room: one Socket.IO connection that reconnects by itself, `create or join` on
// every connect, and what the server says about the two seats. Nothing here knows about calls.
//
// `seat.state`, one at a time:
//   idle        nothing asked yet
//   connecting  the socket is opening (the first time, or again after `retry()`)
//   asking      connected; `create or join` sent, no answer yet
//   seated      the server gave this page a seat (`created` or `joined`)
//   offline     the connection dropped or could not be made; socket.io retries with back-off
//   busy        the room turned the connection away (HTTP 429, "Too many connections"); retrying
//   full        both seats belong to others; the server closed the socket, and nothing retries
//   closed      the server ended the connection for another reason (`41`); nothing retries
//   left        this page gave up its seat (hang-up, page closed)
// While seated, `seat.role` says how this seating began — "created" (this page was first) or
// "joined" (it came second) — and `seat.peer` what is known of the other seat:
//   alone       nobody there yet
//   present     someone sat down (`joined`, or `join`)
//   gone        their seat was freed (`bye`); `peerLeftOnPurpose` says whether they said so first
//
// The resume token: every socket of this page load carries the same random token (`resume` in
// the socket URL). A socket that asks for a seat with the token of a socket that is still seated
// takes that seat over, so a page whose network dropped without a close gets its own seat back
// at once instead of `full` (the peer sees `bye`, then `join` + `ready`). A page told `full` is
// therefore really out: it says so and stops.
//
// Long-polling: the socket tries websocket first and falls back to HTTP long-polling on a
// network that blocks websockets (`tryAllTransports`). A room's HTTP 429 is only visible on the
// long-polling attempt (browsers hide a refused websocket upgrade's status), as the
// TransportError's `description`.

/** socket.io-client's reconnection, set explicitly: bounded back-off with jitter. */
export const RECONNECTION = {
  reconnection: true,
  reconnectionAttempts: Infinity,
  // Attempt n waits min(1000 · 2^n ± 50 %, 5000) ms: 0.5–1.5 s, 1–3 s, 2–5 s, then 4–5 s apart
  // (socket.io's own defaults). The jitter spreads a deploy's thousands of dropped pages out
  // instead of bringing them back in step (no reconnect storm); the cap keeps a page that was
  // away for long from waiting long once the server is back.
  reconnectionDelay: 1000,
  reconnectionDelayMax: 5000,
  randomizationFactor: 0.5,
  // A connection attempt that hangs (a network that swallows packets) is given up after this.
  timeout: 10_000,
};

/** This page load's resume token: 128 random bits, URL-safe base64 (22 characters). */
export function newResumeToken() {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** The page's own "I am leaving" notice, sent over `message` just before `bye`. */
const LEAVE = { type: "leave" };

export class Seat {
  /**
   * @param {object} o
   * @param {string} o.room
   * @param {string} o.token   the resume token
   * @param {object} o.on      { change(), seated(role), join(), ready(role), message(msg), gone({ onPurpose }), full() }
   */
  constructor({ room, token, on }) {
    this.room = room;
    this.token = token;
    this.on = on;
    this.socket = null;
    this.state = "idle";
    this.role = null;
    this.peer = null;
    this.peerLeftOnPurpose = false;
    this.everSeated = false;
    /** A seat is wanted: every connect asks for one (false only for a socket opened by `prepare()`). */
    this.wantSeat = true;
    /** socket.io's reconnection attempt, 0 when connected. */
    this.attempt = 0;
  }

  get seated() {
    return this.state === "seated";
  }

  /**
   * Opens the socket without asking for a seat yet, so that the connection is made while the
   * camera starts and `connect()` only has to ask. The state stays `idle`. Should the server close
   * it for holding no seat (the room's seat grace: the camera took that long), nothing reconnects
   * until `connect()`.
   */
  prepare() {
    if (this.socket || this.state !== "idle") return;
    this.wantSeat = false;
    this.socket = this.#open();
  }

  /** Lets go of a socket `prepare()` opened, when no seat is to be asked for after all. */
  standDown() {
    if (this.wantSeat || !this.socket) return;
    this.socket.disconnect();
    this.socket = null;
    this.#set("idle");
  }

  /** Connects (or reconnects after `full`, `closed` or `left`) and asks for a seat. */
  connect() {
    this.wantSeat = true;
    if (!this.socket) this.socket = this.#open();
    else if (this.socket.connected) return this.#ask();
    // A socket still connecting (the one `prepare()` opened) asks once it has: socket.io's
    // `connect()` now would send a second Socket.IO CONNECT, which the room answers by closing
    // the socket (and the page came back on a new one).
    else if (!this.socket.active) this.socket.connect();
    this.#set("connecting");
  }

  /** Sends a `message` to the other seat; dropped unless this page is seated. */
  send(msg) {
    if (this.seated && this.socket?.connected) this.socket.emit("message", msg);
  }

  /**
   * Gives up the seat, the one place that does: tells the other side it is on purpose, frees the
   * seat at once (`bye`: the peer needs no heartbeat to notice) and closes the socket.
   */
  leave() {
    if (this.seated && this.socket?.connected) {
      this.socket.emit("message", LEAVE);
      this.socket.emit("bye", this.room);
    }
    this.#unseat();
    this.socket?.disconnect();
    this.#set("left");
  }

  #open() {
    const socket = io({
      query: { room: this.room, resume: this.token },
      // Websocket first; where a network blocks websockets, long-polling.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      ...RECONNECTION,
    });

    socket.on("connect", () => {
      this.#unseat();
      this.attempt = 0;
      if (this.wantSeat) this.#ask();
    });
    socket.on("created", () => this.#seat("created", "alone"));
    socket.on("joined", () => this.#seat("joined", "present"));
    socket.on("join", () => {
      if (!this.seated) return;
      this.peer = "present";
      this.peerLeftOnPurpose = false;
      this.on.join();
      this.#set("seated");
    });
    socket.on("ready", () => {
      if (this.seated) this.on.ready(this.role);
    });
    socket.on("message", (msg) => {
      if (!this.seated) return;
      if (msg?.type === LEAVE.type) this.#peerGone(true);
      else this.on.message(msg);
    });
    socket.on("bye", () => {
      if (this.seated) this.#peerGone(false);
    });
    socket.on("full", () => {
      this.#unseat();
      this.#set("full");
      // The server disconnects this socket too; make sure nothing reconnects either.
      socket.disconnect();
      this.on.full();
    });
    socket.on("log", (line) => console.debug(...(Array.isArray(line) ? line : [line])));

    socket.on("disconnect", (reason) => {
      // Never replay anything queued while offline ahead of the next `create or join`.
      socket.sendBuffer.length = 0;
      // A socket opened ahead that the room closed before anyone asked: no reconnecting for now.
      if (!this.wantSeat) return socket.disconnect();
      if (this.state === "full" || this.state === "left") return;
      this.#unseat();
      this.#set(reason === "io server disconnect" ? "closed" : "offline");
    });
    socket.on("connect_error", (err) => {
      console.debug("Socket.IO connect_error:", err?.message, err?.description ?? "");
      if (!this.wantSeat || this.state === "full" || this.state === "left") return;
      // Not active: the server refused the Socket.IO connection itself; socket.io gives up.
      if (!socket.active) this.#set("closed");
      else this.#set(err?.description === 429 ? "busy" : "offline");
    });
    socket.io.on("reconnect_attempt", (attempt) => {
      this.attempt = attempt;
      this.on.change();
    });
    return socket;
  }

  #ask() {
    this.#set("asking");
    this.socket.emit("create or join", this.room);
  }

  #seat(role, peer) {
    if (this.state !== "asking") return;
    this.role = role;
    this.peer = peer;
    this.peerLeftOnPurpose = false;
    this.everSeated = true;
    this.#set("seated");
    this.on.seated(role);
  }

  #unseat() {
    this.role = null;
    this.peer = null;
    this.peerLeftOnPurpose = false;
  }

  #peerGone(onPurpose) {
    if (this.peer === "gone") return; // the server's `bye` after their own notice
    this.peer = "gone";
    this.peerLeftOnPurpose = onPurpose;
    this.on.gone({ onPurpose });
    this.on.change();
  }

  #set(state) {
    this.state = state;
    this.on.change();
  }
}
