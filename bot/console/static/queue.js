/* The queue page: live list of cases (most urgent first) with a claim button. */
"use strict";

(() => {
  const { api, notify, live, el, duration, channel } = Console;
  const body = document.getElementById("queue-body");
  let received = Date.now();
  let cases = [];

  async function claim(caseId, button) {
    button.disabled = true;
    try {
      await api("POST", "/api/cases/" + caseId + "/claim");
      window.location.href = "/cases/" + caseId;
    } catch (error) {
      notify(error.message, true);
      button.disabled = false;
    }
  }

  function action(item) {
    if (item.status === "open") {
      return el("button", { type: "button", className: "claim", "data-case": item.id,
        "aria-label": "领取案件 " + item.id, onclick: (e) => claim(item.id, e.currentTarget) }, "领取");
    }
    return el("a", { href: "/cases/" + item.id }, item.mine ? "继续处理" : "查看");
  }

  function render() {
    const elapsed = Math.floor((Date.now() - received) / 1000);
    body.replaceChildren();
    if (!cases.length) {
      body.append(el("tr", {}, el("td", { colspan: 8 }, "队列是空的。")));
      document.getElementById("sla-summary").textContent = "";
      return;
    }
    let breached = 0, near = 0;
    cases.forEach((item) => {
      const waiting = item.status === "open" ? item.waiting_seconds + elapsed : item.waiting_seconds;
      // the bank's target for this priority (policy/handoff.yml sla_minutes), while unclaimed
      const sla = item.status !== "open" ? "" : waiting >= item.sla_seconds ? "sla-breached"
        : waiting >= 0.8 * item.sla_seconds ? "sla-near" : "";
      if (sla === "sla-breached") breached += 1;
      if (sla === "sla-near") near += 1;
      const row = el("tr", { className: [item.urgent ? "urgent" : "", item.mine ? "mine" : ""].join(" ").trim(),
                             id: "case-row-" + item.id, "data-case": item.id },
        el("td", { "data-label": "优先级" }, item.urgent ? el("span", { className: "badge urgent" }, "紧急") : ["高", "高", "普通"][item.priority] || item.priority),
        el("td", { "data-label": "案件" }, el("a", { href: "/cases/" + item.id }, "#" + item.id)),
        el("td", { "data-label": "客户" }, item.holder_name || "未验证身份"),
        el("td", { "data-label": "原因" }, item.reason_label),
        el("td", { "data-label": "渠道" }, channel(item.channel)),
        el("td", { "data-label": "等待", className: sla,
                   title: "目标：" + Math.round(item.sla_seconds / 60) + " 分钟内领取" },
          duration(waiting) + (sla === "sla-breached" ? "（已超时）" : "")),
        el("td", { "data-label": "状态" }, item.status_label + (item.claimed_by_name ? "（" + item.claimed_by_name + "）" : ""),
          item.pending_application ? el("span", { className: "badge" }, "待审批") : ""),
        el("td", { "data-label": "操作" }, action(item)));
      body.append(row);
    });
    document.getElementById("sla-summary").textContent =
      breached || near ? "超过领取时限 " + breached + " 件 · 即将超时 " + near + " 件" : "全部在领取时限内";
    document.getElementById("sla-summary").className = breached ? "sla-breached" : near ? "sla-near" : "";
  }

  function update(data) {
    cases = data.cases;
    received = Date.now();
    render();
  }

  api("GET", "/api/queue").then(update).catch((error) => notify(error.message, true));
  live("/api/events", { queue: update });
  setInterval(render, 15000);
})();
