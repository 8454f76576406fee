// The room page, /r/<room>: wires the camera, the seat and the call together, and keeps a call
// going through whatever happens to signalling.
//
// # Layout
// - view.js:  what the page shows (phase → `#status[data-state]`, texts, card, controls)
// - seat.js:  the Socket.IO connection and this page's seat (reconnection, resume token)
// - call.js:  the RTCPeerConnection (negotiation, ICE restarts, fresh ICE servers)
// - ice.js:   `GET /config.json`, once per call attempt (asked ahead: as the page loads, and by the
//             answering page when the `hello` exchange says a new call is coming, if what it had
//             is too old by then)
// - media.js: the camera and microphone; rooms.js: room names and links
// - this file: which call runs, and the messages that decide it
//
// # Messages between the two pages (the server's `message`, relayed to the other seat)
//   { type: "hello", call, connected }        here: on every `ready`, which call this page still has
//   { type: "leave" }                         seat.js: sent just before a deliberate `bye`
//   { call, type: "description" | "candidate" | "refresh-ice", … }   call.js
//   { call, type: "media", audio, video }     here: the other side's mute and camera switches
// Messages with a call id other than the current call's are left-overs and are dropped.
//
// # Which call runs
// The media of a call is peer to peer, so nothing that happens to signalling ends it by itself:
// - This page's socket drops (server restart, deploy, network change): the call goes on while
//   socket.io reconnects; the page retakes its seat (with its resume token, so its old seat is
//   handed over rather than reported `full`).
// - Both seated again (`ready`, on each side): each page says `hello` with the id of the call it
//   still has (one that connected and is not closed), or null. Same id on both sides: the call is
//   kept, and if it is not connected its offerer restarts ICE. Anything else: both drop what
//   they have, and the page that got `joined` (the later one) starts a new call and offers.
// - The other seat is freed (`bye`): after their `leave` notice (hang-up, page closed), or when
//   the call is not connected, the call ends. Otherwise only their signalling dropped: the call
//   goes on until they are back (then `hello`), or until its connection breaks.
// - A page told `full` has lost its seat for good: its call ends.

import { Call } from "/call.js";
import { IceAhead, fetchIceConfig } from "/ice.js";
import { getLocalMedia, stopStream } from "/media.js";
import { roomFromPath, roomUrl } from "/rooms.js";
import { Seat, newResumeToken } from "/seat.js";
import * as view from "/view.js";

/** How long to wait for the other side's `hello` before treating it as a page without one. */
const HELLO_TIMEOUT_MS = 5_000;

const room = roomFromPath(location.pathname);
/** The camera and microphone. */
const media = { status: "starting", stream: null, withoutMedia: false, problem: null };
/** This person left the call (the Leave button). */
let hungUp = false;
/** The call, or null. */
let call = null;
let callsStarted = 0;
/** This seating's `hello` exchange, while waiting for the other side's: { mine, timer }. */
let hello = null;
/** The answering page's ICE servers, asked for as soon as it knows a new call is coming. */
const iceAhead = new IceAhead();

const seat = new Seat({
  room,
  token: newResumeToken(),
  on: {
    change: render,
    seated: clearHello,
    join: clearHello, // someone sat down: a new pairing, whose `ready` follows
    ready: sayHello,
    message: onMessage,
    gone: onPeerGone,
    full: endCall,
  },
});

const page = view.createView({
  retry: () => seat.connect(),
  retryCall,
  rejoin,
  startMedia: start,
  joinWithoutMedia,
});

function render() {
  page.render({ room, broken: typeof io !== "function", hungUp, media, seat, call });
}

// ---------------------------------------------------------------------------------------------
// Camera and microphone, then the seat

async function start() {
  media.status = "starting";
  media.problem = null;
  // The connection is made and the ICE servers are asked for while the camera starts; the seat
  // is asked for once it has.
  if (typeof io === "function") seat.prepare();
  iceAhead.prefetch();
  render();
  if (!media.stream && !media.withoutMedia) {
    try {
      const { stream, note } = await getLocalMedia();
      media.stream = stream;
      if (note) view.toast(note, 8000);
    } catch (problem) {
      seat.standDown();
      media.problem = problem;
      media.status = "problem";
      render();
      return;
    }
  }
  media.status = "ready";
  view.showLocalStream(media.stream);
  if (typeof io === "function") seat.connect();
  else render();
}

function joinWithoutMedia() {
  media.withoutMedia = true;
  start();
}

function setTrackEnabled(kind, enabled) {
  for (const track of media.stream?.getTracks() ?? []) if (track.kind === kind) track.enabled = enabled;
  render();
  sendMediaState();
}

function toggleMute() {
  const audio = media.stream?.getAudioTracks()[0];
  if (audio) setTrackEnabled("audio", !audio.enabled);
}

function toggleCamera() {
  const video = media.stream?.getVideoTracks()[0];
  if (video) setTrackEnabled("video", !video.enabled);
}

function sendMediaState() {
  if (call?.state !== "connected") return;
  const audio = media.stream?.getAudioTracks()[0];
  const video = media.stream?.getVideoTracks()[0];
  seat.send({ call: call.id, type: "media", audio: Boolean(audio?.enabled), video: Boolean(video?.enabled) });
}

// ---------------------------------------------------------------------------------------------
// Which call runs

function clearHello() {
  if (hello) clearTimeout(hello.timer);
  hello = null;
}

/**
 * Both seats are taken: tell the other side which call this page still has. A page with no call
 * to keep knows the outcome already (a new call, whatever the other side says), so it does not
 * wait for their `hello`: the page that joined second offers at once, the other asks for its ICE
 * servers. Their `hello` is relayed before anything sent after it, so they start over before the
 * offer reaches them.
 */
function sayHello() {
  clearHello();
  const mine = call && call.everConnected && !call.closed ? call.id : null;
  seat.send({ type: "hello", call: mine, connected: call?.state === "connected" });
  if (mine === null) return startOver();
  hello = { mine, timer: setTimeout(onHelloTimeout, HELLO_TIMEOUT_MS) };
}

function onHello(msg) {
  if (!hello) return; // not after a `ready` of ours: nothing to decide
  const { mine } = hello;
  clearHello();
  if (mine !== null && mine === msg.call && call?.id === mine) {
    // The same call on both sides, still there: keep it; renegotiate only if it is not connected.
    if (call.offerer && (call.state !== "connected" || msg.connected === false)) call.restartIce("back in the room");
    sendMediaState();
    render();
  } else {
    startOver();
  }
}

/** The other side never said hello (a page from before `hello`): start a new call, as it expects. */
function onHelloTimeout() {
  hello = null;
  startOver();
}

/** Drops whatever call there was; the page that joined second makes the new call's offer. */
function startOver() {
  endCall();
  if (seat.seated && seat.role === "joined") startCall(newCallId(), true);
  else if (seat.seated) iceAhead.prefetch();
  render();
}

function onPeerGone({ onPurpose }) {
  clearHello();
  iceAhead.drop();
  if (onPurpose || call?.state !== "connected") endCall();
}

function onMessage(msg) {
  if (!msg || typeof msg !== "object" || Array.isArray(msg)) return;
  if (msg.type === "hello") return onHello(msg);
  if (typeof msg.call !== "string" || msg.call.length > 64) return;
  if (msg.type === "description" && msg.description?.type === "offer" && call?.id !== msg.call) {
    // A new call from the other side. Should both sides ever start one at once, the higher id wins.
    if (call && call.offerer && !call.everConnected && call.id > msg.call) return;
    clearHello();
    startCall(msg.call, false);
  }
  if (!call || call.id !== msg.call) return; // left over from an earlier call
  if (msg.type === "media") view.showRemoteMedia(msg);
  else call.handle(msg);
}

function newCallId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function startCall(id, offerer) {
  endCall();
  callsStarted += 1;
  // The first attempt takes what was asked ahead (if anything); ICE restarts ask afresh.
  let first = iceAhead.take();
  const c = new Call({
    id,
    offerer,
    iceConfig: () => {
      const config = first ?? fetchIceConfig();
      first = null;
      return config;
    },
    localStream: media.stream,
    send: (msg) => seat.send({ ...msg, call: id }),
    canSignal: () => seat.seated && seat.peer === "present",
    on: {
      change: onCallChange,
      track: (stream) => c === call && view.showRemoteStream(stream),
      error: (err) => console.warn("Call error:", err),
    },
  });
  call = c;
  render();
}

function endCall() {
  if (call) {
    call.close();
    call = null;
  }
  view.clearRemote();
  render();
}

function onCallChange(c) {
  if (c !== call) return;
  // Their seat is empty and the media has stopped too: they are gone.
  if (seat.peer === "gone" && ["disconnected", "failed", "closed"].includes(c.state)) return endCall();
  if (c.state === "connected") {
    sendMediaState();
    view.playRemote();
  }
  render();
}

// ---------------------------------------------------------------------------------------------
// Leaving

function hangUp() {
  iceAhead.drop();
  seat.leave();
  endCall();
  // Let go of the camera: its light should go off when the call ends.
  stopStream(media.stream);
  media.stream = null;
  view.showLocalStream(null);
  hungUp = true;
  render();
}

function rejoin() {
  hungUp = false;
  start();
}

/** After a call that could not connect: leave and take the seat again, for a fresh call. */
function retryCall() {
  endCall();
  seat.leave();
  seat.connect();
}

function init() {
  view.setUp({ room, url: room ? roomUrl(room) : "", controls: { toggleMute, toggleCamera, hangUp } });
  if (!room) return render();

  // Leaving the page frees the seat at once; the other side gets `leave`, then `bye`.
  addEventListener("pagehide", () => {
    seat.leave();
    endCall();
  });
  // Back from the back/forward cache: the seat is gone, start over.
  addEventListener("pageshow", (event) => {
    if (event.persisted) location.reload();
  });

  // For diagnostics and the browser tests.
  window.__duet = {
    get phase() {
      return page.phase;
    },
    get socket() {
      return seat.socket;
    },
    get seat() {
      return { state: seat.state, role: seat.role, peer: seat.peer, attempt: seat.attempt };
    },
    get pc() {
      return call?.pc ?? null;
    },
    get call() {
      return call && { id: call.id, offerer: call.offerer, state: call.state, events: call.events.slice() };
    },
    get callsStarted() {
      return callsStarted;
    },
  };

  start();
}

init();
