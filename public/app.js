// The landing page: "New room" (a plain form to /new, which redirects to a fresh room) and a
// field to join a room by name, validated here with a clear message.

import { parseRoomInput } from "/rooms.js";

const form = document.getElementById("joinForm");
const input = document.getElementById("roomName");
const error = document.getElementById("roomError");

function showError(message) {
  error.textContent = message;
  error.hidden = false;
  input.setAttribute("aria-invalid", "true");
}

function clearError() {
  error.hidden = true;
  error.textContent = "";
  input.removeAttribute("aria-invalid");
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const result = parseRoomInput(input.value);
  if (result.error) {
    showError(result.error);
    input.focus();
    return;
  }
  clearError();
  location.assign(`/r/${result.room}`);
});

// Once a message is showing, keep it in step with what is typed.
input.addEventListener("input", () => {
  if (error.hidden) return;
  const result = parseRoomInput(input.value);
  if (result.error && input.value.trim()) showError(result.error);
  else clearError();
});
