/* Shared helpers: the JSON API with the CSRF header, live events, small formatting. */
"use strict";

const Console = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  async function api(method, path, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      options.headers["X-CSRF-Token"] = csrf;
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body || {});
    }
    const response = await fetch(path, options);
    let data = {};
    try { data = await response.json(); } catch (_) { /* empty body */ }
    if (response.status === 401) { window.location.href = "/login"; }
    if (!response.ok) {
      const error = new Error(data.error || ("请求失败（" + response.status + "）"));
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function notify(message, isError) {
    const box = document.getElementById("notice");
    box.textContent = message;
    box.classList.toggle("error", Boolean(isError));
    box.hidden = false;
    clearTimeout(notify.timer);
    notify.timer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  /* EventSource reconnects by itself after the server ends a (bounded) stream. */
  function live(path, handlers) {
    const state = document.getElementById("live-state");
    const source = new EventSource(path);
    source.onopen = () => { if (state) { state.textContent = "实时"; state.classList.add("on"); } };
    source.onerror = () => { if (state) { state.textContent = "重新连接中…"; state.classList.remove("on"); } };
    Object.entries(handlers).forEach(([name, handler]) => {
      source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
    });
    source.addEventListener("logout", () => { source.close(); window.location.href = "/login"; });
    window.addEventListener("beforeunload", () => source.close());
    return source;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (value === undefined || value === null || value === false) return;
      if (key === "className") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    });
    children.flat().forEach((child) => {
      if (child !== undefined && child !== null) {
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
    });
    return node;
  }

  function duration(seconds) {
    if (seconds < 60) return seconds + " 秒";
    if (seconds < 3600) return Math.floor(seconds / 60) + " 分钟";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " 小时 " + Math.floor((seconds % 3600) / 60) + " 分";
    return Math.floor(seconds / 86400) + " 天";
  }

  function yuan(value) {
    if (value === null || value === undefined) return "—";
    return "¥" + Number(value).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function time(iso) {
    return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "—";
  }

  // the channels' names (credentials.yml): REST is the bank's own app backend
  const CHANNELS = { rest: "银行App", widget: "网页聊天", telegram: "Telegram" };
  const channel = (name) => CHANNELS[name] || name;

  return { api, notify, live, el, duration, yuan, time, channel };
})();
