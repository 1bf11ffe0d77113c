// The page's UI text in English and Chinese: one table (STRINGS), applied to every element
// with data-i18n="key". The language is page.state.lang ("en" | "zh"), from the URL
// (#lang=zh, or ?lang=zh in the query) and the header's switch; the html element's lang
// attribute follows, so Chromium picks a CJK font for the Chinese.

import { page, updateUrl } from "./state.js";
import { $ } from "./util.js";

export const LANGS = { en: "English", zh: "中文" };

export const STRINGS = {
  step: { en: "Step", zh: "步数" },
  epoch: { en: "Epoch", zh: "轮数" },
  speed: { en: "Speed", zh: "速度" },
  play_speed: { en: "Play speed", zh: "播放速度" },
  lecture: { en: "Lecture", zh: "课程" },
  copy_link: { en: "Copy link", zh: "复制链接" },
  import: { en: "Import", zh: "导入" },
  export: { en: "Export", zh: "导出" },
  optimizer: { en: "Optimizer", zh: "优化器" },
  learning_rate: { en: "Learning rate", zh: "学习率" },
  schedule: { en: "Rate schedule", zh: "学习率策略" },
  loss: { en: "Loss", zh: "损失函数" },
  regularization: { en: "Regularization", zh: "正则化" },
  moving_average: { en: "Moving average", zh: "滑动平均" },
  batch_size: { en: "Batch size", zh: "批大小" },
  activation: { en: "Activation", zh: "激活函数" },
  init: { en: "Init", zh: "初始化" },
  bias: { en: "bias", zh: "偏置" },
  data: { en: "Data", zh: "数据" },
  which_dataset: { en: "Which dataset do you want to use?", zh: "用哪个数据集？" },
  features: { en: "Features", zh: "特征" },
  which_features: { en: "Which properties do you want to feed in?", zh: "输入哪些特征？" },
  test_data: { en: "Test data:", zh: "测试数据：" },
  noise: { en: "Noise:", zh: "噪声：" },
  points: { en: "Points (0 = the dataset's own)", zh: "点数（0 = 数据集自带）" },
  regenerate: { en: "Regenerate", zh: "重新生成" },
  output: { en: "Output", zh: "输出" },
  test_loss: { en: "Test loss", zh: "测试损失" },
  training_loss: { en: "Training loss", zh: "训练损失" },
  learning_rate_now: { en: "Learning rate", zh: "学习率" },
  show_test: { en: "Show test data", zh: "显示测试数据" },
  discretize: { en: "Discretize output", zh: "离散化输出" },
  race: { en: "Race", zh: "比赛" },
  load_experiment: { en: "Load this experiment", zh: "载入这个实验" },
};

// The language a URL asks for: the hash's lang, else the query's, else English.
export function langFromUrl(hashParams) {
  const asked = hashParams.get("lang") || new URLSearchParams(location.search).get("lang");
  return asked in LANGS ? asked : "en";
}

export function bindLang() {
  const select = $("lang");
  for (const [code, name] of Object.entries(LANGS)) {
    const o = document.createElement("option");
    o.value = code;
    o.textContent = name;
    o.lang = code;
    select.appendChild(o);
  }
  select.addEventListener("change", () => {
    page.state.lang = select.value;
    updateUrl();
    applyLang();
  });
}

export function applyLang() {
  const lang = (page.state && page.state.lang) || "en";
  document.documentElement.lang = lang;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    const entry = STRINGS[el.dataset.i18n];
    if (entry) el.textContent = entry[lang];
  }
}
