// The error bar under the header. It keeps the last few messages, so a follow-up error
// does not hide the first cause, and hides itself after a while.

import { $ } from "./util.js";

const SHOWN_LINES = 3;
const HIDE_AFTER = 12000; // ms

let hideTimer = null;
let lines = [];

export function showError(text) {
  if ($("error").hidden) lines = [];
  lines = lines.filter((line) => line !== text).concat([text]).slice(-SHOWN_LINES);
  $("error-text").textContent = lines.join("\n");
  $("error").hidden = false;
  clearTimeout(hideTimer);
  hideTimer = setTimeout(hideError, HIDE_AFTER);
}

export function hideError() {
  $("error").hidden = true;
}
