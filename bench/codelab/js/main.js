// The codelab's step-05 page script, reproduced for the time-to-call benchmark (see
// ../server.mjs); a minimal equivalent of its flow, written for this benchmark:
// - connect with socket.io's defaults and ask `create or join` at once (the codelab's room is
//   fixed; here it comes from `?room=`, so each run gets a fresh one);
// - at the same time ask for the camera (video only), show it, and tell the other side
//   `got user media`;
// - the page that `created` the room is the initiator: once the channel is ready (`join`) and the
//   other side has its camera (`got user media`), it makes the peer connection, adds its camera
//   and sends an offer; the other side makes its peer connection when the offer comes, and
//   answers; candidates go across as { type: "candidate", label, id, candidate } as they come;
// - no STUN or TURN server (the codelab asks a TURN service off the Internet when not on
//   localhost; this benchmark has only loopback), so `new RTCPeerConnection(null)` as in step 05;
// - the remote stream is shown in #remoteVideo.
// The codelab's legacy `addStream`/`onaddstream` are spelled `addTrack`/`ontrack` here.
"use strict";

const room = new URLSearchParams(location.search).get("room") || "foo";
const localVideo = document.querySelector("#localVideo");
const remoteVideo = document.querySelector("#remoteVideo");

let isInitiator = false;
let isChannelReady = false;
let isStarted = false;
let localStream;
let pc;

const socket = io.connect();
socket.emit("create or join", room);

socket.on("created", (r) => {
  console.log("Created room " + r);
  isInitiator = true;
});
socket.on("full", (r) => console.log("Room " + r + " is full"));
socket.on("join", (r) => {
  console.log("Another peer made a request to join room " + r);
  isChannelReady = true;
});
socket.on("joined", (r) => {
  console.log("joined: " + r);
  isChannelReady = true;
});
socket.on("log", (array) => console.log(...array));

function sendMessage(message) {
  socket.emit("message", message);
}

socket.on("message", (message) => {
  if (message === "got user media") {
    maybeStart();
  } else if (message.type === "offer") {
    if (!isInitiator && !isStarted) maybeStart();
    pc.setRemoteDescription(new RTCSessionDescription(message));
    doAnswer();
  } else if (message.type === "answer" && isStarted) {
    pc.setRemoteDescription(new RTCSessionDescription(message));
  } else if (message.type === "candidate" && isStarted) {
    pc.addIceCandidate(new RTCIceCandidate({ sdpMLineIndex: message.label, sdpMid: message.id, candidate: message.candidate }));
  } else if (message === "bye" && isStarted) {
    isStarted = false;
    pc.close();
    pc = null;
  }
});

navigator.mediaDevices
  .getUserMedia({ audio: false, video: true })
  .then((stream) => {
    localStream = stream;
    localVideo.srcObject = stream;
    sendMessage("got user media");
    if (isInitiator) maybeStart();
  })
  .catch((e) => alert("getUserMedia() error: " + e.name));

function maybeStart() {
  if (!isStarted && typeof localStream !== "undefined" && isChannelReady) {
    pc = new RTCPeerConnection(null);
    pc.onicecandidate = (event) => {
      if (event.candidate) {
        sendMessage({ type: "candidate", label: event.candidate.sdpMLineIndex, id: event.candidate.sdpMid, candidate: event.candidate.candidate });
      }
    };
    pc.ontrack = (event) => {
      if (remoteVideo.srcObject !== event.streams[0]) remoteVideo.srcObject = event.streams[0];
    };
    for (const track of localStream.getTracks()) pc.addTrack(track, localStream);
    isStarted = true;
    if (isInitiator) doCall();
  }
}

window.onbeforeunload = () => sendMessage("bye");

function setLocalAndSendMessage(description) {
  pc.setLocalDescription(description);
  sendMessage(description);
}

function doCall() {
  pc.createOffer().then(setLocalAndSendMessage, (e) => console.log("createOffer() error: ", e));
}

function doAnswer() {
  pc.createAnswer().then(setLocalAndSendMessage, (e) => console.log("createAnswer() error: ", e));
}
