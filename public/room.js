// The room page, /r/<room>: camera and microphone, the seat in the room (Socket.IO), and the
// call (WebRTC).
//
// Signalling, on top of the server's room events:
// - on every `connect` (the first one and each reconnection) the page asks for its seat with
//   `create or join`, and sends nothing else until it has one (`created` or `joined`);
// - `created`: alone, waiting. `joined`: someone is there; on `ready` this side (the late
//   joiner) starts a call with a fresh call id and sends the offer;
// - `join` + `ready`: someone arrived; this side answers their offer;
// - `message` carries { call, type: "description" | "candidate" | "media", … } both ways;
//   messages of any other call id are left-overs and are dropped;
// - `bye`: the other side is gone; the call is torn down and the page waits again, so the next
//   person with the link joins without a reload. This side sends `bye` on hang-up and pagehide.
// So a late joiner, a reload, or a dropped and restored socket on either side all end in a new
// call: whoever comes (back) second makes the offer.
// Every socket of this page carries the same secret resume token (`resume` in the URL): when the
// network drops without a close, the reconnected socket takes over the page's old seat at once
// instead of finding the room full until the server's heartbeat notices.

import { Call } from "/call.js";
import { getLocalMedia, stopStream } from "/media.js";
import { roomFromPath, roomUrl } from "/rooms.js";

const DEFAULT_ICE = [{ urls: "stun:stun.l.google.com:19302" }];
/** How long after losing its socket the page assumes a `full` room is its own stale seat. */
const RECLAIM_WINDOW_MS = 60_000;
const RECLAIM_DELAY_MS = 3_000;
/** A call still not up after this long gets a hint. */
const SLOW_CALL_MS = 15_000;
/** This page load's resume token: 128 random bits, URL-safe base64. */
const RESUME_TOKEN = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
  .replace(/\+/g, "-")
  .replace(/\//g, "_")
  .replace(/=+$/, "");

const $ = (id) => document.getElementById(id);
const ui = {
  roomName: $("roomName"),
  status: $("status"),
  statusText: $("statusText"),
  shareLink: $("shareLink"),
  copyLink: $("copyLink"),
  copyLabel: $("copyLabel"),
  stage: $("stage"),
  remoteVideo: $("remoteVideo"),
  localVideo: $("localVideo"),
  remoteMuted: $("remoteMuted"),
  remoteCameraOff: $("remoteCameraOff"),
  localCameraOff: $("localCameraOff"),
  localCameraOffText: $("localCameraOffText"),
  enableSound: $("enableSound"),
  overlay: $("overlay"),
  overlayTitle: $("overlayTitle"),
  overlayText: $("overlayText"),
  overlayShare: $("overlayShare"),
  overlayShareLink: $("overlayShareLink"),
  overlayCopy: $("overlayCopy"),
  overlayActions: $("overlayActions"),
  mute: $("muteButton"),
  camera: $("cameraButton"),
  hangup: $("hangupButton"),
  toast: $("toast"),
};

const room = roomFromPath(location.pathname);

/** Everything the page knows. */
const S = {
  phase: "starting",
  socket: null,
  seated: false,
  hadSeat: false,
  /** "offerer" (got `joined`), "answerer" (got `join`) or null (alone). */
  role: null,
  call: null,
  iceServers: null,
  stream: null,
  withoutMedia: false,
  full: false,
  leaving: false,
  reclaiming: false,
  lostAt: 0,
  everConnected: false,
  slowTimer: 0,
  slow: false,
  problem: null,
  reconnectAttempt: 0,
};

// ---------------------------------------------------------------------------------------------
// What the page shows

/**
 * Each phase: the contract's `data-state` (or none before the page has a seat), the status
 * line, and the card over the remote video.
 */
function describe(phase) {
  const p = S.problem;
  switch (phase) {
    case "starting":
      return { state: null, status: "Starting…", kind: "busy", title: "Starting your camera…",
        text: "Your browser may ask to use your camera and microphone." };
    case "joining":
      return { state: null, status: "Joining…", kind: "busy", title: "Joining the room…", text: "" };
    case "waiting":
      return { state: "waiting", status: "Waiting for someone to join", kind: "info",
        title: "Waiting for someone to join", share: true,
        text: "Send this link to the person you want to talk to. The call starts as soon as they open it." };
    case "calling":
      return { state: "waiting", status: "Connecting…", kind: "busy", title: "Connecting to the other person…",
        text: S.slow
          ? "This is taking longer than usual. Both of you may be on networks that block direct connections."
          : "" };
    case "connected":
      return { state: "connected", status: "Connected", kind: null };
    case "interrupted":
      return { state: "waiting", status: "Connection interrupted", kind: "busy", translucent: true,
        title: "Connection interrupted", text: "Trying to reconnect…" };
    case "left":
      return { state: "left", status: "The other person left", kind: "info", share: true,
        title: "The other person left the call",
        text: "You're still in the room. Anyone with the link can join, and the call starts again." };
    case "full":
      return { state: "full", status: "Room is full", kind: "error", title: "This room is full",
        text: "Two people are already in this call. Check that you have the right link, or start a new room.",
        actions: [{ label: "Start a new room", href: "/new", primary: true }, { label: "Try again", run: retryFull }] };
    case "reclaiming":
      return { state: "error", status: "Reconnecting…", kind: "busy", title: "Getting your seat back…",
        text: "The server is still letting go of your previous connection." };
    case "offline":
      return { state: "error", status: "Connection lost, reconnecting…", kind: "busy", translucent: S.everConnected,
        title: S.hadSeat ? "Connection to the server lost" : "Can't reach the server",
        text: S.reconnectAttempt > 1
          ? `Reconnecting (attempt ${S.reconnectAttempt})… You'll be back in the room automatically.`
          : "Reconnecting… You'll be back in the room automatically." };
    case "server-closed":
      return { state: "error", status: "Disconnected", kind: "error", title: "The server ended the connection",
        text: "You are no longer in the room.", actions: [{ label: "Rejoin", run: rejoin, primary: true }] };
    case "ice-failed":
      return { state: "error", status: "Couldn't connect", kind: "error",
        title: "Couldn't connect to the other person",
        text: "Your networks may block direct connections (a TURN server would help). " +
          "Try again, or try from another network.",
        actions: [{ label: "Try again", run: retryCall, primary: true }] };
    case "media":
      return { state: "error", status: p.title, kind: "error", title: p.title, text: p.text,
        actions: mediaActions(p) };
    case "hung-up":
      return { state: "left", status: "You left the call", kind: "info", title: "You left the call",
        text: "Your camera and microphone are off. Rejoin whenever you like.",
        actions: [{ label: "Rejoin", run: rejoin, primary: true }, { label: "Home", href: "/" }] };
    case "bad-room":
      return { state: "error", status: "No room", kind: "error", title: "This link doesn't name a room",
        text: "Room links look like /r/team-standup: 1–64 letters, digits, and - _ . only.",
        actions: [{ label: "Go to the home page", href: "/", primary: true }] };
    case "broken":
      return { state: "error", status: "Couldn't load", kind: "error", title: "Couldn't load the calling code",
        text: "Check your connection and reload the page.",
        actions: [{ label: "Reload", run: () => location.reload(), primary: true }] };
    default:
      throw new Error(`unknown phase ${phase}`);
  }
}

function mediaActions(problem) {
  const actions = [];
  if (problem.link) actions.push({ label: problem.link.label, href: problem.link.href, primary: true });
  if (problem.kind !== "insecure" && problem.kind !== "unsupported") {
    actions.push({ label: "Try again", run: () => start(), primary: !problem.link });
  }
  if (typeof RTCPeerConnection === "function") {
    actions.push({ label: "Join without camera and microphone", run: joinWithoutMedia });
  }
  return actions;
}

function show(phase) {
  S.phase = phase;
  const d = describe(phase);
  if (d.state) ui.status.dataset.state = d.state;
  else delete ui.status.dataset.state;
  ui.statusText.textContent = d.status;
  document.body.dataset.phase = phase;
  document.title = `${d.status} · ${room ?? "Room"} · Duet`;

  ui.overlay.hidden = !d.kind;
  if (d.kind) {
    ui.overlay.dataset.kind = d.kind;
    ui.overlay.classList.toggle("translucent", Boolean(d.translucent));
    ui.overlayTitle.textContent = d.title;
    ui.overlayText.textContent = d.text ?? "";
    ui.overlayText.hidden = !d.text;
    ui.overlayShare.hidden = !d.share;
    ui.overlayActions.replaceChildren(...(d.actions ?? []).map(actionButton));
  }
  renderControls();
}

function actionButton(action) {
  const el = document.createElement(action.href ? "a" : "button");
  el.className = `btn ${action.primary ? "btn-primary" : "btn-secondary"}`;
  el.textContent = action.label;
  if (action.href) el.href = action.href;
  else {
    el.type = "button";
    el.addEventListener("click", action.run);
  }
  return el;
}

function renderControls() {
  const audio = S.stream?.getAudioTracks()[0];
  const video = S.stream?.getVideoTracks()[0];
  ui.mute.disabled = !audio;
  ui.camera.disabled = !video;
  ui.mute.setAttribute("aria-pressed", String(Boolean(audio && !audio.enabled)));
  ui.camera.setAttribute("aria-pressed", String(Boolean(video && !video.enabled)));
  ui.hangup.disabled = !S.socket || S.leaving || S.full || ["hung-up", "media", "starting"].includes(S.phase);
  ui.localCameraOff.hidden = S.phase === "starting" || Boolean(video?.enabled);
  ui.localCameraOffText.textContent = video || (!S.stream && !S.withoutMedia) ? "Camera off" : "No camera";
}

let toastTimer = 0;
function toast(message, ms = 4000) {
  clearTimeout(toastTimer);
  ui.toast.textContent = message;
  ui.toast.hidden = false;
  toastTimer = setTimeout(() => (ui.toast.hidden = true), ms);
}

// ---------------------------------------------------------------------------------------------
// Camera and microphone

async function start() {
  S.problem = null;
  show("starting");
  const ice = S.iceServers ? Promise.resolve(S.iceServers) : loadIceServers();
  if (!S.stream && !S.withoutMedia) {
    try {
      const { stream, note } = await getLocalMedia();
      S.stream = stream;
      if (note) toast(note, 8000);
    } catch (problem) {
      S.problem = problem;
      show("media");
      return;
    }
  }
  ui.localVideo.srcObject = S.stream;
  S.iceServers = await ice;
  connect();
}

function joinWithoutMedia() {
  S.withoutMedia = true;
  start();
}

async function loadIceServers() {
  try {
    const res = await fetch("/config.json", { cache: "no-store" });
    const { iceServers } = await res.json();
    if (Array.isArray(iceServers)) {
      // Reject a configuration the browser would refuse later, at call time.
      new RTCPeerConnection({ iceServers }).close();
      return iceServers;
    }
  } catch (err) {
    console.warn("Using the default ICE servers:", err?.message ?? err);
  }
  return DEFAULT_ICE;
}

function setTrackEnabled(kind, enabled) {
  for (const track of S.stream?.getTracks() ?? []) if (track.kind === kind) track.enabled = enabled;
  renderControls();
  sendMediaState();
}

function toggleMute() {
  const audio = S.stream?.getAudioTracks()[0];
  if (audio) setTrackEnabled("audio", !audio.enabled);
}

function toggleCamera() {
  const video = S.stream?.getVideoTracks()[0];
  if (video) setTrackEnabled("video", !video.enabled);
}

function sendMediaState() {
  if (!S.call || S.call.state !== "connected") return;
  const audio = S.stream?.getAudioTracks()[0];
  const video = S.stream?.getVideoTracks()[0];
  sendSignal({ call: S.call.id, type: "media", audio: Boolean(audio?.enabled), video: Boolean(video?.enabled) });
}

// ---------------------------------------------------------------------------------------------
// The seat (Socket.IO)

function connect() {
  if (S.socket) {
    S.socket.connect();
    show("joining");
    return;
  }
  if (typeof io !== "function") {
    show("broken");
    return;
  }
  show("joining");
  const socket = (S.socket = io({ transports: ["websocket"], query: { room, resume: RESUME_TOKEN } }));

  socket.on("connect", () => {
    S.seated = false;
    S.role = null;
    S.reclaiming = false;
    if (S.lostAt) toast("Back online");
    S.reconnectAttempt = 0;
    show("joining");
    socket.emit("create or join", room);
  });

  socket.on("created", () => {
    takeSeat();
    S.role = null;
    show("waiting");
  });

  socket.on("joined", () => {
    takeSeat();
    S.role = "offerer";
    show("calling");
  });

  socket.on("join", () => {
    if (!S.seated) return;
    // Someone (new, or the same person back) sat down: whatever call there was is over.
    closeCall();
    S.role = "answerer";
    show("calling");
  });

  socket.on("ready", () => {
    if (!S.seated) return;
    if (S.role === "offerer") startCall(newCallId(), true);
    else show("calling");
    armSlowTimer();
  });

  socket.on("message", onSignal);

  socket.on("bye", () => {
    if (!S.seated) return;
    closeCall();
    S.role = null;
    show("left");
  });

  socket.on("full", () => {
    if (S.hadSeat && Date.now() - S.lostAt < RECLAIM_WINDOW_MS) {
      // Most likely our own seat from before the drop, not yet freed by the server's heartbeat.
      S.reclaiming = true;
      show("reclaiming");
      setTimeout(() => {
        if (S.reclaiming && !S.leaving) socket.connect();
      }, RECLAIM_DELAY_MS);
      return;
    }
    S.full = true;
    show("full");
    // The server disconnects us; make sure nothing reconnects either.
    socket.disconnect();
  });

  socket.on("log", (line) => console.debug(...(Array.isArray(line) ? line : [line])));

  socket.on("disconnect", (reason) => {
    const hadSeat = S.seated;
    S.seated = false;
    S.role = null;
    closeCall();
    // Never replay anything queued while offline ahead of the next `create or join`.
    socket.sendBuffer.length = 0;
    if (S.full || S.leaving || S.reclaiming || reason === "io client disconnect") return;
    if (hadSeat || !S.lostAt) S.lostAt = Date.now();
    show(reason === "io server disconnect" ? "server-closed" : "offline");
  });

  socket.on("connect_error", () => {
    if (S.full || S.leaving) return;
    show(socket.active ? "offline" : "server-closed");
  });

  socket.io.on("reconnect_attempt", (attempt) => {
    S.reconnectAttempt = attempt;
    if (S.phase === "offline") show("offline");
  });
}

function takeSeat() {
  S.seated = true;
  S.hadSeat = true;
  S.lostAt = 0;
}

function sendSignal(msg) {
  if (S.seated && S.socket?.connected) S.socket.emit("message", msg);
}

function retryFull() {
  S.full = false;
  S.socket?.connect();
  show("joining");
}

function rejoin() {
  S.leaving = false;
  S.full = false;
  start();
}

function leave() {
  if (S.leaving) return;
  S.leaving = true;
  if (S.seated && S.socket?.connected) S.socket.emit("bye", room);
  S.seated = false;
  S.role = null;
  closeCall();
  S.socket?.disconnect();
  // Let go of the camera: its light should go off when the call ends.
  stopStream(S.stream);
  S.stream = null;
  ui.localVideo.srcObject = null;
  show("hung-up");
}

// ---------------------------------------------------------------------------------------------
// The call (WebRTC)

function newCallId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function startCall(id, offerer) {
  closeCall();
  const call = new Call({
    id,
    offerer,
    iceServers: S.iceServers ?? DEFAULT_ICE,
    localStream: S.stream,
    send: (msg) => sendSignal({ ...msg, call: id }),
    on: {
      state: (state, info) => onCallState(call, state, info),
      track: (stream) => onRemoteStream(call, stream),
      error: (err) => console.warn("Call error:", err),
    },
  });
  S.call = call;
  show("calling");
  return call;
}

function closeCall() {
  clearTimeout(S.slowTimer);
  S.slow = false;
  if (S.call) {
    S.call.close();
    S.call = null;
  }
  ui.remoteVideo.srcObject = null;
  ui.remoteMuted.hidden = true;
  ui.remoteCameraOff.hidden = true;
  ui.enableSound.hidden = true;
}

function armSlowTimer() {
  clearTimeout(S.slowTimer);
  S.slow = false;
  S.slowTimer = setTimeout(() => {
    S.slow = true;
    if (S.phase === "calling") show("calling");
  }, SLOW_CALL_MS);
}

function onSignal(msg) {
  if (!S.seated || !msg || typeof msg !== "object" || Array.isArray(msg)) return;
  if (typeof msg.call !== "string" || msg.call.length > 64) return;
  let call = S.call;
  if (msg.type === "description" && msg.description?.type === "offer" && call?.id !== msg.call) {
    // A new call from the other side. Should both sides ever offer at once, the higher id wins.
    if (call && call.offerer && call.id > msg.call) return;
    call = startCall(msg.call, false);
    armSlowTimer();
  }
  if (!call || call.id !== msg.call) return; // left over from an earlier call
  if (msg.type === "media") showRemoteMedia(msg);
  else call.handle(msg);
}

function onCallState(call, state, { restarting } = {}) {
  if (call !== S.call) return;
  switch (state) {
    case "connected":
      clearTimeout(S.slowTimer);
      S.everConnected = true;
      show("connected");
      sendMediaState();
      playRemote();
      break;
    case "disconnected":
      show("interrupted");
      break;
    case "failed":
      show(restarting ? "interrupted" : "ice-failed");
      break;
    default:
      break;
  }
}

function onRemoteStream(call, stream) {
  if (call !== S.call) return;
  if (ui.remoteVideo.srcObject !== stream) ui.remoteVideo.srcObject = stream;
  playRemote();
}

function showRemoteMedia({ audio, video }) {
  ui.remoteMuted.hidden = audio !== false;
  ui.remoteCameraOff.hidden = video !== false;
}

/** Plays the remote stream, with sound if the browser allows it, muted (with a button) if not. */
async function playRemote() {
  const video = ui.remoteVideo;
  if (!video.srcObject) return;
  try {
    video.muted = false;
    ui.enableSound.hidden = true;
    await video.play();
  } catch (err) {
    if (err?.name !== "NotAllowedError") return;
    video.muted = true;
    ui.enableSound.hidden = false;
    try {
      await video.play();
    } catch {}
  }
}

function retryCall() {
  // Leave and take the seat again: the other side gets `bye` then `join`, and a fresh call starts.
  closeCall();
  if (S.seated && S.socket?.connected) S.socket.emit("bye", room);
  S.seated = false;
  S.socket?.disconnect();
  S.socket?.connect();
  show("joining");
}

// ---------------------------------------------------------------------------------------------
// Wiring

async function copyShareLink() {
  const url = ui.shareLink.value;
  let ok = false;
  try {
    await navigator.clipboard.writeText(url);
    ok = true;
  } catch {
    ui.shareLink.focus();
    ui.shareLink.select();
    try {
      ok = document.execCommand("copy");
    } catch {}
  }
  if (ok) {
    ui.copyLabel.textContent = "Copied";
    setTimeout(() => (ui.copyLabel.textContent = "Copy link"), 2000);
    toast("Link copied. Send it to the person you want to talk to.");
  } else {
    ui.shareLink.focus();
    ui.shareLink.select();
    toast("Press Ctrl+C (⌘C on a Mac) to copy the selected link.");
  }
}

function init() {
  if (!room) {
    ui.roomName.textContent = "—";
    show("bad-room");
    return;
  }
  const url = roomUrl(room);
  ui.roomName.textContent = room;
  ui.roomName.title = room;
  ui.shareLink.value = url;
  ui.overlayShareLink.textContent = url;

  ui.copyLink.addEventListener("click", copyShareLink);
  ui.overlayCopy.addEventListener("click", copyShareLink);
  ui.shareLink.addEventListener("focus", () => ui.shareLink.select());
  ui.mute.addEventListener("click", toggleMute);
  ui.camera.addEventListener("click", toggleCamera);
  ui.hangup.addEventListener("click", leave);
  ui.enableSound.addEventListener("click", () => {
    ui.remoteVideo.muted = false;
    ui.enableSound.hidden = true;
    ui.remoteVideo.play().catch(() => {});
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
    const key = event.key.toLowerCase();
    if (key === "m") toggleMute();
    else if (key === "v") toggleCamera();
  });

  // Leaving the page frees the seat at once; the other side gets `bye`.
  addEventListener("pagehide", () => {
    if (S.seated && S.socket?.connected) S.socket.emit("bye", room);
    S.leaving = true;
    S.seated = false;
    S.socket?.disconnect();
    closeCall();
  });
  // Back from the back/forward cache: the seat is gone, start over.
  addEventListener("pageshow", (event) => {
    if (event.persisted) location.reload();
  });

  // For diagnostics and the browser tests.
  window.__duet = {
    get phase() {
      return S.phase;
    },
    get socket() {
      return S.socket;
    },
    get pc() {
      return S.call?.pc ?? null;
    },
  };

  start();
}

init();
