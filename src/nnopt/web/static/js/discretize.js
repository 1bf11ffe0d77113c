// "Discretize output": the heatmap shows the predicted class only (TensorFlow Playground's
// switch), kept in page.state.discrete. The server's bytes are turned here, so the switch
// costs no message: binary data 0 or 255 (class 1 where the probability is >= 0.5, i.e. the
// byte round(p·255) >= 128), many classes at full confidence. Regression is left as it is.

import { page } from "./state.js";

export function shownBytes(bytes, task) {
  if (!page.state || !page.state.discrete || task === "regression") return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    out[i] = task === "multiclass" ? (bytes[i] & ~63) | 63 : bytes[i] >= 128 ? 255 : 0;
  }
  return out;
}
