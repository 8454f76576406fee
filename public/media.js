// The camera and microphone: getUserMedia with fallbacks, and a message a person can act on for
// every way it can fail.

/** A failure to get any local media, worded for people. */
export class MediaProblem extends Error {
  /**
   * @param {string} kind      insecure | unsupported | denied | missing | busy | failed
   * @param {string} title     short headline
   * @param {string} text      what happened and what to do
   * @param {object} [extra]   { link: { href, label } }
   */
  constructor(kind, title, text, extra = {}) {
    super(text);
    this.kind = kind;
    this.title = title;
    this.text = text;
    this.link = extra.link ?? null;
  }
}

const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 }, facingMode: "user" };

function insecureProblem() {
  const https = location.protocol === "http:" ? `https://${location.host}${location.pathname}` : null;
  return new MediaProblem(
    "insecure",
    "This page needs a secure connection",
    "Browsers only allow the camera and microphone on secure pages. Open this room over https:// " +
      "(or on localhost while developing).",
    https ? { link: { href: https, label: "Open over https" } } : {},
  );
}

function classify(err) {
  switch (err?.name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
      return new MediaProblem(
        "denied",
        "Camera and microphone are blocked",
        "Allow this site to use your camera and microphone (look for the camera icon in the address bar " +
          "or in the site settings), then try again.",
      );
    case "SecurityError":
      return insecureProblem();
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return new MediaProblem(
        "missing",
        "No camera or microphone found",
        "Plug in a camera or microphone (or check that it is switched on), then try again. " +
          "You can also join and just watch and listen.",
      );
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return new MediaProblem(
        "busy",
        "Your camera or microphone is in use",
        "Another app or browser tab may be using it. Close it, then try again. " +
          "You can also join and just watch and listen.",
      );
    default:
      return new MediaProblem(
        "failed",
        "Couldn't start your camera or microphone",
        `${err?.message || "Something went wrong."} Try again, or join and just watch and listen.`,
      );
  }
}

/**
 * Gets the camera and microphone, or whichever of the two is there. Resolves
 * `{ stream, note }` where `note` says what is missing (or is null); rejects with a
 * MediaProblem when there is nothing to use.
 */
export async function getLocalMedia() {
  if (!window.isSecureContext) throw insecureProblem();
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new MediaProblem(
      "unsupported",
      "This browser can't make video calls",
      "Open this link in a current version of Chrome, Edge, Firefox or Safari.",
    );
  }
  const gum = (constraints) => navigator.mediaDevices.getUserMedia(constraints);
  let first;
  try {
    return { stream: await gum({ audio: AUDIO, video: VIDEO }), note: null };
  } catch (err) {
    first = err;
  }
  // A refusal is final: asking again for each device would only nag.
  if (first?.name === "NotAllowedError" || first?.name === "SecurityError") throw classify(first);
  try {
    const stream = await gum({ video: VIDEO });
    return { stream, note: "No microphone available: the other person will see you but not hear you." };
  } catch {}
  try {
    const stream = await gum({ audio: AUDIO });
    return { stream, note: "No camera available: the other person will hear you but not see you." };
  } catch {}
  throw classify(first);
}

/** Stops every track of `stream`. */
export function stopStream(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}
