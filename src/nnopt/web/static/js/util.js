// Small helpers every module may use; nothing here knows about the page's state.

export const $ = (id) => document.getElementById(id);

// Settings are plain JSON (numbers, strings, booleans, lists), so JSON is a faithful copy.
export const clone = (v) => JSON.parse(JSON.stringify(v));
export const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// A menu label for a registry name that has no label of its own: "leaky_relu" -> "leaky relu".
export const spaced = (name) => name.replace(/_/g, " ");

export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

// Text from an input or a link, typed like `example` (the default of that setting):
// lists are "4-4", booleans "1"/"0", numbers stay text when they are not numbers, so
// the server can name the bad value.
export function parseLike(text, example) {
  if (Array.isArray(example)) return text === "" ? [] : text.split("-").map((v) => (/^\d+$/.test(v) ? Number(v) : v));
  if (typeof example === "boolean") return text === "1" || text === "true";
  if (typeof example === "number") return text.trim() !== "" && isFinite(Number(text)) ? Number(text) : text;
  return text;
}

// A loss or a rate as shown: four decimals below 1, exponent for the very small or large.
export function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.001 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(a < 1 ? 4 : 3);
}

// The server sends heatmaps and neuron thumbnails as bytes (one byte a pixel): raw in a
// binary frame (a Uint8Array already), base64 in a JSON one.
export function decodeBytes(b64) {
  if (b64 instanceof Uint8Array) return b64;
  const text = atob(b64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
