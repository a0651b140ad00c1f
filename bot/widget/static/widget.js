/*
 * 信用卡还款协商助手 — embeddable chat widget (plain JavaScript, no framework).
 *
 * A bank pastes one tag:
 *   <script src="https://BOT-HOST/webhooks/widget/widget.js" data-title="还款协商助手"
 *           data-primary="#b4232a" defer></script>
 * or sets window.ArrearsChatConfig = {server, title, primary, accent, path, open} first.
 * The widget loads its CSS and the socket.io 4.x client from the same place as this file.
 *
 * Why it works the way it does: message text is only ever put in the page as text nodes
 * (never innerHTML), so a message containing HTML shows the HTML; messages typed while the
 * connection is down wait in a queue (kept in localStorage) with an id, are re-sent after the
 * reconnect until the server acknowledges them, and the server ignores an id it has seen; the
 * conversation itself is redrawn from the server's history on every (re)connect.
 */
(function () {
  "use strict";
  if (window.ArrearsChat) return; // pasted twice: one widget

  var script = document.currentScript;
  var base = script && script.src ? script.src.replace(/\/[^/]*(\?.*)?$/, "") : "";
  var data = (script && script.dataset) || {};
  var given = window.ArrearsChatConfig || {};
  var config = {
    server: given.server || data.server || (base ? new URL(base).origin : window.location.origin),
    path: given.path || data.path || "/socket.io",
    title: given.title || data.title || "信用卡还款协商助手",
    primary: given.primary || data.primary || "#b4232a",
    accent: given.accent || data.accent || "#1f6feb",
    open: String(given.open || data.open || "false") === "true",
    // The bank's logged-in page: a URL on its own site that returns {"token": "<JWT>"} for the
    // signed-in customer (fetched anew at every connect), or a token given directly.
    tokenUrl: given.tokenUrl || data.tokenUrl || "",
    token: given.token || data.token || "",
  };
  var SESSION_KEY = "arrears-chat-session";
  var QUEUE_KEY = "arrears-chat-queue";
  var URL_PATTERN = /(https?:\/\/[^\s<>"'，。；！？）]+)/g;

  function storageGet(key, fallback) {
    try {
      var value = window.localStorage.getItem(key);
      return value === null ? fallback : JSON.parse(value);
    } catch (e) {
      return fallback;
    }
  }
  function storageSet(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (e) {
      /* private mode: the widget still works, only without surviving a reload */
    }
  }
  function newId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(16) + Math.random().toString(16).slice(2);
  }
  function el(tag, className, attributes) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    return node;
  }

  /* Text with line breaks and links, built from text nodes only. */
  function appendRichText(container, text) {
    String(text || "").split("\n").forEach(function (line, index) {
      if (index > 0) container.appendChild(document.createElement("br"));
      var last = 0;
      line.replace(URL_PATTERN, function (url, _group, offset) {
        if (offset > last) container.appendChild(document.createTextNode(line.slice(last, offset)));
        var link = el("a", "acw-link", { href: url, target: "_blank", rel: "noopener noreferrer" });
        link.textContent = url;
        container.appendChild(link);
        last = offset + url.length;
        return url;
      });
      if (last < line.length) container.appendChild(document.createTextNode(line.slice(last)));
    });
  }

  /* ---- DOM ---------------------------------------------------------------------------- */
  var root = el("div", "acw-root");
  root.style.setProperty("--acw-primary", config.primary);
  root.style.setProperty("--acw-accent", config.accent);
  var launcher = el("button", "acw-launcher", {
    type: "button", "aria-label": "打开在线咨询：" + config.title, "aria-expanded": "false",
    "aria-controls": "acw-panel", id: "acw-launcher",
  });
  launcher.textContent = "在线咨询";
  var panel = el("section", "acw-panel", {
    id: "acw-panel", role: "dialog", "aria-label": config.title, hidden: "hidden",
  });
  var header = el("header", "acw-header");
  var title = el("h2", "acw-title", { id: "acw-title" });
  title.textContent = config.title;
  var status = el("p", "acw-status", { id: "acw-status", role: "status" });
  status.textContent = "正在连接…";
  var close = el("button", "acw-close", { type: "button", "aria-label": "关闭对话窗口" });
  close.textContent = "×";
  header.appendChild(title);
  header.appendChild(status);
  header.appendChild(close);
  var log = el("div", "acw-log", {
    id: "acw-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
    "aria-label": "对话记录", tabindex: "0",
  });
  var typing = el("div", "acw-typing", { id: "acw-typing", "aria-label": "助手正在输入", hidden: "hidden" });
  typing.appendChild(el("span", "acw-dot"));
  typing.appendChild(el("span", "acw-dot"));
  typing.appendChild(el("span", "acw-dot"));
  var form = el("form", "acw-form", { id: "acw-form" });
  var label = el("label", "acw-visually-hidden", { for: "acw-input" });
  label.textContent = "输入您的消息";
  var input = el("textarea", "acw-input", {
    id: "acw-input", rows: "1", maxlength: "4000", placeholder: "请输入您想说的内容…",
    autocomplete: "off",
  });
  var send = el("button", "acw-send", { type: "submit", id: "acw-send" });
  send.textContent = "发送";
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(form);
  root.appendChild(launcher);
  root.appendChild(panel);

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.hidden = open;
    if (open) input.focus();
    else launcher.focus();
  }
  launcher.addEventListener("click", function () { setOpen(true); });
  close.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") setOpen(false);
  });

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function showButtons(bubble, buttons) {
    var group = el("div", "acw-buttons", { role: "group", "aria-label": "可选回复" });
    buttons.forEach(function (button) {
      var choice = el("button", "acw-choice", { type: "button" });
      choice.textContent = String(button.title || button.payload || "");
      choice.addEventListener("click", function () {
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) { b.disabled = true; });
        choice.classList.add("acw-chosen");
        submit(String(button.payload || button.title || ""), choice.textContent);
      });
      group.appendChild(choice);
    });
    bubble.appendChild(group);
  }

  function showNotice(text, event) {
    var notice = el("div", "acw-notice acw-" + event.replace(/_/g, "-"), { "data-event": event });
    var badge = el("strong", "acw-badge");
    badge.textContent = event === "specialist_joined" ? "人工专员已加入" : "人工专员已离开";
    notice.appendChild(badge);
    var body = el("span", "acw-notice-text");
    appendRichText(body, text);
    notice.appendChild(body);
    log.appendChild(notice);
  }

  /* Characters only Traditional writing uses: the toggle's labels follow the card's script (the
     server localises the card's text, not these labels). */
  var TRADITIONAL_HINT = /[還個專審費務這為與們說現總額請當會條訊議狀]/;
  var termsCount = 0;

  /* A plan card as the server sends it ("方案1：title\nhow much\nwhat it costs；fits；approval"),
     compact enough for four of them and the choice buttons on one phone screen: the title
     line with a toggle beside it, the rest below, the facts line smaller; the full terms
     folded under it, one tap (or Enter / Space) away. Text nodes only, like every message. */
  function planCard(text, details) {
    var traditional = TRADITIONAL_HINT.test(String(text || ""));
    var lines = String(text || "").split("\n");
    var card = el("div", "acw-plan-card");
    var head = el("div", "acw-plan-head");
    termsCount += 1;
    var termsId = "acw-terms-" + termsCount;
    var titleId = "acw-plan-title-" + termsCount;
    var titleLine = el("strong", "acw-plan-title", { id: titleId });
    titleLine.textContent = lines[0];
    // the visible word is the button's name; the card's title tells which plan it opens
    var toggle = el("button", "acw-plan-toggle", {
      type: "button", "aria-expanded": "false", "aria-controls": termsId,
      "aria-describedby": titleId,
    });
    var showLabel = traditional ? "完整條款" : "完整条款";
    var hideLabel = traditional ? "收起條款" : "收起条款";
    toggle.textContent = showLabel;
    head.appendChild(titleLine);
    head.appendChild(toggle);
    card.appendChild(head);
    var rest = lines.slice(1);
    rest.forEach(function (line, index) {
      var last = rest.length > 1 && index === rest.length - 1;
      var row = el("div", last ? "acw-plan-facts" : "acw-plan-line");
      if (last) {
        // the facts ("利息和费用 …；超出…；需专员审批") wrap between facts, never inside one
        line.split("；").forEach(function (fact, n, all) {
          var item = el("span", "acw-plan-fact");
          item.textContent = fact + (n < all.length - 1 ? "；" : "");
          row.appendChild(item);
        });
      } else {
        appendRichText(row, line);
      }
      card.appendChild(row);
    });
    var terms = el("div", "acw-plan-terms", { id: termsId, hidden: "hidden" });
    appendRichText(terms, details);
    card.appendChild(terms);
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      terms.hidden = !open;
      toggle.textContent = open ? hideLabel : showLabel;
    });
    return card;
  }

  function showBot(message) {
    var custom = message.custom || {};
    if (custom.event === "specialist_joined" || custom.event === "specialist_left") {
      showNotice(message.text, custom.event);
      scrollDown();
      return;
    }
    var fromPerson = custom.author === "specialist";
    var bubble = el("div", "acw-msg acw-bot" + (fromPerson ? " acw-specialist" : ""));
    var who = el("span", "acw-author");
    who.textContent = fromPerson ? "人工专员" + (custom.specialist ? " " + custom.specialist : "") : "助手";
    bubble.appendChild(who);
    var body = el("div", "acw-text");
    appendRichText(body, message.text);
    bubble.appendChild(body);
    if (typeof custom.details === "string" && custom.details) {
      bubble.classList.add("acw-plan");
      if (custom.plan) bubble.setAttribute("data-plan", String(custom.plan));
      bubble.replaceChild(planCard(message.text, custom.details), body);
    } else if (!(message.buttons && message.buttons.length) && log.lastElementChild &&
             log.lastElementChild.classList.contains("acw-plan")) {
      // what every card's terms share, said once right after the cards: a footnote to them
      bubble.classList.add("acw-plan-note");
    }
    if (message.buttons && message.buttons.length) {
      bubble.classList.add("acw-has-choices");
      showButtons(bubble, message.buttons);
    }
    log.appendChild(bubble);
    scrollDown();
  }

  function showUser(text, id, pending) {
    var bubble = el("div", "acw-msg acw-user" + (pending ? " acw-pending" : ""));
    if (id) bubble.setAttribute("data-message-id", id);
    var who = el("span", "acw-author");
    who.textContent = "我";
    bubble.appendChild(who);
    var body = el("div", "acw-text");
    appendRichText(body, text);
    bubble.appendChild(body);
    if (pending) {
      var mark = el("span", "acw-pending-mark");
      mark.textContent = "等待发送";
      bubble.appendChild(mark);
    }
    log.appendChild(bubble);
    scrollDown();
  }

  function markSent(id) {
    var bubble = log.querySelector('[data-message-id="' + id + '"]');
    if (!bubble) return;
    bubble.classList.remove("acw-pending");
    var mark = bubble.querySelector(".acw-pending-mark");
    if (mark) mark.remove();
  }

  /* ---- connection ----------------------------------------------------------------------- */
  var sessionId = storageGet(SESSION_KEY, null);
  var queue = storageGet(QUEUE_KEY, []); // [{id, payload, text}] not yet acknowledged
  var inflight = {}; // ids emitted on the current connection
  var ready = false; // history received on the current connection
  var socket = null;

  function saveQueue() { storageSet(QUEUE_KEY, queue); }
  function updateTyping() {
    typing.hidden = !(ready && Object.keys(inflight).length > 0);
    if (!typing.hidden) scrollDown();
  }

  function emitQueued(item) {
    if (!socket || !ready || inflight[item.id]) return;
    inflight[item.id] = true;
    updateTyping();
    socket.emit(
      "user_uttered",
      { session_id: sessionId, message: item.payload, message_id: item.id },
      function (answer) {
        delete inflight[item.id];
        if (answer && answer.ok === false) status.textContent = "消息未能发送，请稍后重试";
        queue = queue.filter(function (q) { return q.id !== item.id; });
        saveQueue();
        markSent(item.id);
        updateTyping();
      }
    );
  }

  function submit(payload, shownText) {
    if (!String(payload).trim() && !String(shownText).trim()) return;
    var item = { id: newId(), payload: payload, text: shownText };
    queue.push(item);
    saveQueue();
    showUser(shownText, item.id, !ready);
    emitQueued(item);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    input.value = "";
    submit(text, text);
    input.focus();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });

  function onHistory(history) {
    log.textContent = "";
    var arrived = {};
    (history.messages || []).forEach(function (entry) {
      if (entry.role === "user") {
        if (entry.id) arrived[entry.id] = true;
        showUser(entry.text, entry.id, false);
      } else {
        showBot(entry);
      }
    });
    // whatever the server already has is not sent again; the rest is shown as waiting and sent
    queue = queue.filter(function (item) { return !arrived[item.id]; });
    saveQueue();
    ready = true;
    queue.forEach(function (item) {
      showUser(item.text, item.id, true);
      emitQueued(item);
    });
    if (!log.childNodes.length) {
      var hello = el("p", "acw-hint");
      hello.textContent = "您好！请直接输入您的问题，例如“我想协商分期还款”。";
      log.appendChild(hello);
    }
    updateTyping();
  }

  // Without a token the widget works anonymously (general questions, the knowledge check).
  function loginToken(done) {
    if (!config.tokenUrl) return done(config.token);
    fetch(config.tokenUrl, { credentials: "include", cache: "no-store" })
      .then(function (answer) { return answer.ok ? answer.json() : {}; })
      .then(function (body) { done((body && body.token) || ""); })
      .catch(function () { done(""); });
  }

  function start() {
    socket = window.io(config.server, { path: config.path, transports: ["websocket", "polling"] });
    socket.on("connect", function () {
      status.textContent = "已连接";
      loginToken(function (token) {
        var request = { session_id: sessionId, client: "widget" };
        if (token) request.token = token;
        socket.emit("session_request", request);
      });
    });
    socket.on("session_confirm", function (id) {
      sessionId = id;
      storageSet(SESSION_KEY, id);
    });
    socket.on("history", onHistory);
    socket.on("bot_uttered", function (message) { showBot(message || {}); });
    socket.on("disconnect", function () {
      ready = false;
      inflight = {};
      status.textContent = "连接已断开，正在重新连接…（您的消息会在恢复后发送）";
      updateTyping();
    });
    socket.io.on("reconnect_attempt", function () { status.textContent = "正在重新连接…"; });
    window.ArrearsChat.socket = socket;
  }

  window.ArrearsChat = { config: config, open: function () { setOpen(true); }, socket: null };

  function mount() {
    document.body.appendChild(root);
    if (config.open) setOpen(true);
    var css = el("link", null, { rel: "stylesheet", href: base + "/widget.css" });
    document.head.appendChild(css);
    if (window.io) return start();
    var client = el("script", null, { src: base + "/socket.io.min.js" });
    client.onload = start;
    client.onerror = function () { status.textContent = "无法连接到服务，请稍后再试"; };
    document.head.appendChild(client);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
