// Lecture mode: each experiment of the lecture (its presets, from GET /api/lecture) one
// click away, with the lecture's passage in Chinese and English beside it and what to watch
// for. Loading one replaces the data and the lanes (as an import does); the 1-D demos of a
// single parameter say why they run with `nnopt run` only. page.state.lecture (the shown
// preset, "" = closed) is kept in the URL.

import { commit } from "./changes.js";
import { page, updateUrl } from "./state.js";
import { $, clone } from "./util.js";

let experiments = null; // the server's list, fetched once

export function bindLecture() {
  $("lecture-toggle").addEventListener("click", () => {
    showLecture(page.state.lecture ? "" : "open");
  });
  $("lecture-list").addEventListener("click", (event) => {
    const button = event.target.closest("[data-preset]");
    if (button) showLecture(button.dataset.preset);
  });
  $("lecture-load").addEventListener("click", () => loadExperiment(page.state.lecture));
}

// Opens the panel on a preset ("" closes it).
export function showLecture(preset) {
  page.state.lecture = preset;
  updateUrl(); // the panel is a view: only the URL follows (no setup is sent)
  renderLecture();
}

let fetching = null;

function fetchExperiments() {
  fetching = fetching || fetch("/api/lecture").then((r) => r.json()).then((reply) => {
    experiments = reply.experiments;
    buildList();
  });
  return fetching;
}

function buildList() {
  const list = $("lecture-list");
  list.innerHTML = "";
  for (const e of experiments) {
    const b = document.createElement("button");
    b.className = "flat lecture-item";
    b.dataset.preset = e.preset;
    const section = document.createElement("span");
    section.className = "section";
    section.textContent = e.section;
    const zh = document.createElement("span");
    zh.lang = "zh";
    zh.textContent = e.title.zh;
    const name = document.createElement("code");
    name.textContent = e.preset;
    b.append(section, " ", zh, " ", name);
    b.title = e.title.en;
    list.appendChild(b);
  }
}

// Shows page.state.lecture (called with the other controls); the list is fetched the first
// time the panel opens.
export function renderLecture() {
  if (page.state.lecture && !experiments) {
    fetchExperiments().then(renderLecture);
    return;
  }
  if (page.state.lecture && !experiments.some((x) => x.preset === page.state.lecture)) {
    page.state.lecture = experiments[0].preset; // "open", or a preset the server lacks
    updateUrl();
  }
  const open = !!page.state.lecture;
  $("lecture").hidden = !open;
  $("lecture-toggle").classList.toggle("on", !!page.state.lecture);
  if (!open) return;
  const e = experiments.find((x) => x.preset === page.state.lecture);
  for (const b of $("lecture-list").children) b.classList.toggle("on", b.dataset.preset === e.preset);
  $("lecture-title").textContent = `${e.section} ${e.title.en} · ${e.preset}`;
  const text = $("lecture-text");
  text.innerHTML = "";
  for (const p of e.passages) text.append(pair(p.zh, p.en, "passage"));
  text.append(pair(`看什么：${e.watch.zh}`, `Watch for: ${e.watch.en}`, "watch"));
  $("lecture-load").disabled = !e.settings;
  $("lecture-why").textContent = e.settings ? "" : `${e.why}. Run it with: ${e.command}`;
}

// A Chinese block beside its English rendering, each with its lang (so Chromium picks a
// CJK font for the Chinese).
function pair(zh, en, cls) {
  const row = document.createElement("div");
  row.className = `lecture-pair ${cls}`;
  const a = document.createElement("p");
  a.lang = "zh";
  a.textContent = zh;
  const b = document.createElement("p");
  b.lang = "en";
  b.textContent = en;
  row.append(a, b);
  return row;
}

export function loadExperiment(preset) {
  const e = experiments && experiments.find((x) => x.preset === preset);
  if (!e || !e.settings) return;
  page.state.data = clone(e.settings.data);
  page.state.lanes = [clone(e.settings.lane)];
  page.state.selected = 0;
  commit(true);
}
