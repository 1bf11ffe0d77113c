// The websocket to the server: connect, reconnect, send, and dispatch each message by its
// type to the handlers main.js gives (messages.js). The connection badge in the header is
// this module's own display.

import { page } from "./state.js";
import { $ } from "./util.js";

const SETUP_DELAY = 120; // ms: a slider drag or fast typing sends one setup, not dozens
const MAX_BACKOFF = 5; // reconnect after 0.5 s, 1 s, ... at most 2.5 s

let socket = null;
let retries = 0;
let setupTimer = null;
let unacknowledged = false; // a snapshot arrived that no drawn frame has acknowledged yet

// Opens the socket; `handlers` maps a message type to its handler, `onClose` runs when the
// connection drops (before the next attempt).
export function connect(handlers, onClose) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws?frames=binary`);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => { retries = 0; showConnection("connected", "ok"); };
  socket.onmessage = (event) => {
    const message = typeof event.data === "string" ? JSON.parse(event.data) : decodeFrame(event.data);
    dispatch(handlers, message);
  };
  socket.onclose = () => {
    page.playing = false;
    onClose();
    showConnection("disconnected: reconnecting…", "lost");
    retries = Math.min(retries + 1, MAX_BACKOFF);
    setTimeout(() => connect(handlers, onClose), 500 * retries);
  };
}

// A binary frame (web/protocol/frames.py): "NNF1", the header's length (uint32, little
// endian), the message as JSON with each byte field as {blob: [offset, length]}, the blobs.
// The byte fields become Uint8Array views of the frame (no copy).
const MAGIC = "NNF1";

export function decodeFrame(buffer) {
  const head = new Uint8Array(buffer, 0, 4);
  if (String.fromCharCode(...head) !== MAGIC) throw new Error("not an nnopt binary frame");
  const n = new DataView(buffer).getUint32(4, true);
  const message = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, n)));
  const base = 8 + n;
  const restore = (v) => {
    if (Array.isArray(v)) return v.map(restore);
    if (v && typeof v === "object") {
      if (Array.isArray(v.blob) && Object.keys(v).length === 1) return new Uint8Array(buffer, base + v.blob[0], v.blob[1]);
      for (const k of Object.keys(v)) v[k] = restore(v[k]);
    }
    return v;
  };
  return restore(message);
}

function dispatch(handlers, message) {
  if (message.type === "snapshot") unacknowledged = true;
  const handler = handlers[message.type];
  if (handler) handler(message);
}

// After a frame is drawn: tells the server a snapshot was drawn, so that it sends the next
// (it sends at most four more before the next; a page that draws slower gets fewer, not a backlog).
export function acknowledgeDrawn() {
  if (!unacknowledged) return;
  unacknowledged = false;
  send({ type: "drawn" }); // exactly '{"type":"drawn"}', the text the server counts
}

function showConnection(text, cls) {
  const el = $("connection");
  el.textContent = text;
  el.className = "connection " + cls;
}

// Sends a message if connected; while reconnecting it is dropped (the next hello resends
// the whole setup, so nothing the user chose is lost).
export function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

// Sends page.state's setup, at once or after a short pause that later edits restart.
export function sendSetup(now = false) {
  clearTimeout(setupTimer);
  const go = () => {
    const { data, lanes, selected } = page.state;
    send({ type: "setup", data, lanes, selected });
  };
  if (now) go(); else setupTimer = setTimeout(go, SETUP_DELAY);
}
