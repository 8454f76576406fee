// What the room page shows. `render(facts)` turns what the page knows (camera, seat, call) into
// one phase, and the phase into the status line, the card over the remote video and the
// controls. Nothing here decides anything about the seat or the call.
//
// `#status[data-state]` is the contract's room state and is always set (the HTML starts with
// `waiting`): `waiting` while the page is on its way into a call and needs nothing from the
// person — starting the camera, joining, alone in the room, a busy room it keeps retrying,
// connecting the call; `connected` while the peer connection is up, including while signalling
// is down or the other person is reconnecting (the media is peer to peer: the call goes on);
// `left` when the other person's seat was freed, or this page hung up; `full`; `error` when
// something needs the person (camera blocked, the call could not connect, the server ended the
// connection) or the server cannot be reached.
// The finer phase is `body[data-phase]`.

const $ = (id) => document.getElementById(id);

export const ui = {
  roomName: $("roomName"),
  status: $("status"),
  statusText: $("statusText"),
  shareLink: $("shareLink"),
  copyLink: $("copyLink"),
  copyLabel: $("copyLabel"),
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

/**
 * @typedef {object} Facts
 * @property {string|null} room
 * @property {boolean} broken          the socket.io client did not load
 * @property {boolean} hungUp          this person left the call
 * @property {object} media            { status: "starting"|"ready"|"problem", problem, stream, withoutMedia }
 * @property {import("/seat.js").Seat} seat
 * @property {import("/call.js").Call|null} call
 */

/** The phase the page is in: one name for what it shows. @param {Facts} f */
export function phaseOf(f) {
  const { seat, call } = f;
  if (!f.room) return "bad-room";
  if (f.broken) return "broken";
  if (f.hungUp) return "hung-up";
  if (f.media.status === "problem") return "media";
  if (f.media.status === "starting") return "starting";
  if (seat.state === "full") return "full";
  if (seat.state === "closed") return "server-closed";
  if (call?.state === "connected") {
    if (!seat.seated) return "reconnecting";
    if (seat.peer === "gone") return "peer-away";
    if (seat.peer === "alone") return "peer-reconnecting";
    return "connected";
  }
  if (call) {
    if (call.state === "failed" && !call.restarting) return "ice-failed";
    if (call.everConnected) return "interrupted";
    if (seat.seated || seat.state === "asking" || seat.state === "connecting") return "calling";
  }
  switch (seat.state) {
    case "seated":
      return { alone: "waiting", present: "calling", gone: "left" }[seat.peer];
    case "offline":
      return "offline";
    case "busy":
      return "busy";
    default:
      return "joining";
  }
}

/** Each phase: the contract's `data-state`, the status line, and the card over the remote video. */
function describe(phase, f, actions) {
  const { seat, call } = f;
  const attempt = seat.attempt > 1 ? ` (attempt ${seat.attempt})` : "";
  switch (phase) {
    case "starting":
      return { state: "waiting", status: "Starting…", kind: "busy", title: "Starting your camera…",
        text: "Your browser may ask to use your camera and microphone." };
    case "joining":
      return { state: "waiting", status: "Joining…", kind: "busy", title: "Joining the room…", text: "" };
    case "busy":
      return { state: "waiting", status: "Room busy, retrying…", kind: "busy", title: "The room is busy",
        text: `Too many people are opening this link right now. Retrying by itself${attempt}…` };
    case "waiting":
      return { state: "waiting", status: "Waiting for someone to join", kind: "info",
        title: "Waiting for someone to join", share: true,
        text: "Send this link to the person you want to talk to. The call starts as soon as they open it." };
    case "calling":
      return { state: "waiting", status: "Connecting…", kind: "busy", title: "Connecting to the other person…",
        text: call?.slow
          ? "This is taking longer than usual. Both of you may be on networks that block direct connections."
          : "" };
    case "connected":
      return { state: "connected", status: "Connected", kind: null };
    case "reconnecting":
      return { state: "connected", status: `Connected · reconnecting to the server${attempt}…`, kind: null,
        notice: "Connection to the server lost. The call goes on; reconnecting…" };
    case "peer-reconnecting":
      return { state: "connected", status: "Connected · the other person is reconnecting…", kind: null };
    case "peer-away":
      return { state: "left", status: "The other person's connection dropped", kind: "busy", translucent: true,
        title: "The other person's connection dropped",
        text: "Their video may still come through. Waiting for them to come back…" };
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
        actions: [{ label: "Start a new room", href: "/new", primary: true }, { label: "Try again", run: actions.retry }] };
    case "offline":
      return { state: "error", status: "Connection lost, reconnecting…", kind: "busy", translucent: Boolean(call),
        title: seat.everSeated ? "Connection to the server lost" : "Can't reach the server",
        text: `Reconnecting${attempt}… You'll be back in the room automatically.` };
    case "server-closed":
      return { state: "error", status: "Disconnected", kind: "error", title: "The server ended the connection",
        text: "You are no longer in the room.", actions: [{ label: "Rejoin", run: actions.retry, primary: true }] };
    case "ice-failed":
      return { state: "error", status: "Couldn't connect", kind: "error",
        title: "Couldn't connect to the other person",
        text: "Your networks may block direct connections (a TURN server would help). " +
          "Try again, or try from another network.",
        actions: [{ label: "Try again", run: actions.retryCall, primary: true }] };
    case "media":
      return { state: "error", status: f.media.problem.title, kind: "error", title: f.media.problem.title,
        text: f.media.problem.text, actions: mediaActions(f.media.problem, actions) };
    case "hung-up":
      return { state: "left", status: "You left the call", kind: "info", title: "You left the call",
        text: "Your camera and microphone are off. Rejoin whenever you like.",
        actions: [{ label: "Rejoin", run: actions.rejoin, primary: true }, { label: "Home", href: "/" }] };
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

function mediaActions(problem, actions) {
  const list = [];
  if (problem.link) list.push({ label: problem.link.label, href: problem.link.href, primary: true });
  if (problem.kind !== "insecure" && problem.kind !== "unsupported") {
    list.push({ label: "Try again", run: actions.startMedia, primary: !problem.link });
  }
  if (typeof RTCPeerConnection === "function") {
    list.push({ label: "Join without camera and microphone", run: actions.joinWithoutMedia });
  }
  return list;
}

/**
 * The page's view. `actions` are what its buttons do:
 * { retry, retryCall, rejoin, startMedia, joinWithoutMedia }.
 */
export function createView(actions) {
  let phase = null;
  let shownNotice = null;

  /** Shows `facts`; returns the phase. @param {Facts} f */
  function render(f) {
    const next = phaseOf(f);
    const d = describe(next, f, actions);
    ui.status.dataset.state = d.state;
    ui.statusText.textContent = d.status;
    document.body.dataset.phase = next;
    document.title = `${d.status} · ${f.room ?? "Room"} · Duet`;
    if (next !== phase) {
      ui.overlay.hidden = !d.kind;
      if (d.kind) {
        ui.overlay.dataset.kind = d.kind;
        ui.overlay.classList.toggle("translucent", Boolean(d.translucent));
        ui.overlayTitle.textContent = d.title;
        ui.overlayShare.hidden = !d.share;
        ui.overlayActions.replaceChildren(...(d.actions ?? []).map(actionButton));
      }
      if (d.notice && d.notice !== shownNotice) toast(d.notice, 6000);
      else if ((phase === "reconnecting" || phase === "offline") && f.seat.seated) toast("Back online");
      shownNotice = d.notice ?? null;
      phase = next;
    }
    if (d.kind) {
      // The text may change within a phase (the attempt count, the slow-call hint).
      ui.overlayText.textContent = d.text ?? "";
      ui.overlayText.hidden = !d.text;
    }
    renderControls(f, next);
    return next;
  }

  return { render, toast, get phase() { return phase; } };
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

function renderControls(f, phase) {
  const stream = f.media.stream;
  const audio = stream?.getAudioTracks()[0];
  const video = stream?.getVideoTracks()[0];
  ui.mute.disabled = !audio;
  ui.camera.disabled = !video;
  ui.mute.setAttribute("aria-pressed", String(Boolean(audio && !audio.enabled)));
  ui.camera.setAttribute("aria-pressed", String(Boolean(video && !video.enabled)));
  ui.hangup.disabled = !f.seat.socket || ["full", "left"].includes(f.seat.state) ||
    ["hung-up", "media", "starting"].includes(phase);
  ui.localCameraOff.hidden = phase === "starting" || Boolean(video?.enabled);
  ui.localCameraOffText.textContent = video || (!stream && !f.media.withoutMedia) ? "Camera off" : "No camera";
}

let toastTimer = 0;
export function toast(message, ms = 4000) {
  clearTimeout(toastTimer);
  ui.toast.textContent = message;
  ui.toast.hidden = false;
  toastTimer = setTimeout(() => (ui.toast.hidden = true), ms);
}

// ---------------------------------------------------------------------------------------------
// The remote video

export function showRemoteStream(stream) {
  if (ui.remoteVideo.srcObject !== stream) ui.remoteVideo.srcObject = stream;
  playRemote();
}

export function clearRemote() {
  ui.remoteVideo.srcObject = null;
  ui.remoteMuted.hidden = true;
  ui.remoteCameraOff.hidden = true;
  ui.enableSound.hidden = true;
}

/** The other side's microphone and camera switches. */
export function showRemoteMedia({ audio, video }) {
  ui.remoteMuted.hidden = audio !== false;
  ui.remoteCameraOff.hidden = video !== false;
}

/** Plays the remote stream, with sound if the browser allows it, muted (with a button) if not. */
export async function playRemote() {
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

// ---------------------------------------------------------------------------------------------
// The share link and the buttons

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

/** Fills in the room's name and share link, and wires the buttons and keys to `controls`. */
export function setUp({ room, url, controls }) {
  ui.roomName.textContent = room ?? "—";
  if (!room) return;
  ui.roomName.title = room;
  ui.shareLink.value = url;
  ui.overlayShareLink.textContent = url;

  ui.copyLink.addEventListener("click", copyShareLink);
  ui.overlayCopy.addEventListener("click", copyShareLink);
  ui.shareLink.addEventListener("focus", () => ui.shareLink.select());
  ui.mute.addEventListener("click", controls.toggleMute);
  ui.camera.addEventListener("click", controls.toggleCamera);
  ui.hangup.addEventListener("click", controls.hangUp);
  ui.enableSound.addEventListener("click", () => {
    ui.remoteVideo.muted = false;
    ui.enableSound.hidden = true;
    ui.remoteVideo.play().catch(() => {});
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
    const key = event.key.toLowerCase();
    if (key === "m") controls.toggleMute();
    else if (key === "v") controls.toggleCamera();
  });
}

/** Shows the camera in the local preview (or nothing). */
export function showLocalStream(stream) {
  ui.localVideo.srcObject = stream;
}
