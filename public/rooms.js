// Room names, shared by the landing page and the room page.
// The Worker accepts 1–64 characters of A–Z a–z 0–9 - _ . and nothing else.

export const ROOM_MAX = 64;
const ROOM_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** Whether `name` is a valid room name. */
export function isValidRoom(name) {
  return typeof name === "string" && ROOM_RE.test(name);
}

/** The room of a `/r/<room>` path, or null. */
export function roomFromPath(pathname) {
  const m = /^\/r\/([^/]+)\/?$/.exec(pathname);
  if (!m) return null;
  let name;
  try {
    name = decodeURIComponent(m[1]);
  } catch {
    return null;
  }
  return isValidRoom(name) ? name : null;
}

/** The share URL of a room on this site. */
export function roomUrl(name, origin = location.origin) {
  return `${origin}/r/${name}`;
}

function describeChar(ch) {
  if (ch === " ") return "Spaces aren't";
  if (/\s/.test(ch)) return "Whitespace isn't";
  return `“${ch}” isn't`;
}

/**
 * Reads what a person typed: a room name, or a pasted room link. Returns `{ room }` or
 * `{ error }` with a message meant for people.
 */
export function parseRoomInput(raw) {
  let text = String(raw ?? "").trim();
  if (!text) return { error: "Type a room name, or start a new room." };
  // A pasted link to a room: keep just the room.
  const link = /^(?:https?:\/\/[^/]+)?\/r\/([^/?#]+)\/?(?:[?#].*)?$/i.exec(text);
  if (link) {
    try {
      text = decodeURIComponent(link[1]);
    } catch {
      text = link[1];
    }
  }
  const chars = [...text];
  if (chars.length > ROOM_MAX) {
    return { error: `Room names can be at most ${ROOM_MAX} characters; this one has ${chars.length}.` };
  }
  const bad = chars.find((c) => !/[A-Za-z0-9._-]/.test(c));
  if (bad !== undefined) {
    return { error: `${describeChar(bad)} allowed in room names. Use letters A–Z, digits, and - _ . only.` };
  }
  return { room: text };
}
