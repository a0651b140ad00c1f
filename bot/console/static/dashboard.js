/* The supervisors' dashboard: headline numbers, charts (PNG) and every active case. */
"use strict";

(() => {
  const { api, notify, live, el, duration } = Console;

  function summary(stats) {
    const box = document.getElementById("summary");
    const pairs = [
      ["待领取", stats.waiting.open_now],
      ["处理中", stats.by_status.claimed || 0],
      ["待审批申请", stats.pending_applications],
      ["在线专员", stats.specialists_online],
      ["领取等待中位数", stats.waiting.median_minutes_to_claim === null ? "—" : stats.waiting.median_minutes_to_claim + " 分钟"],
      ["最长等待", stats.waiting.longest_open_minutes === null ? "—" : stats.waiting.longest_open_minutes + " 分钟"],
    ];
    box.replaceChildren(...pairs.map(([label, value]) => el("div", {}, el("dt", {}, label), el("dd", {}, value))));
  }

  function cases(data) {
    const body = document.getElementById("all-cases");
    body.replaceChildren(...data.cases.map((c) => el("tr", { className: c.urgent ? "urgent" : "" },
      el("td", {}, el("a", { href: "/cases/" + c.id }, "#" + c.id)),
      el("td", {}, c.holder_name || "未验证身份"), el("td", {}, c.reason_label),
      el("td", {}, c.status_label), el("td", {}, c.claimed_by_name || "—"),
      el("td", {}, duration(c.waiting_seconds)))));
    if (!data.cases.length) body.append(el("tr", {}, el("td", { colspan: 6 }, "没有进行中的案件。")));
  }

  function refresh() {
    api("GET", "/api/dashboard").then(summary).catch((error) => notify(error.message, true));
    document.querySelectorAll("img[data-chart]").forEach((img) => {
      img.src = "/dashboard/charts/" + img.dataset.chart + ".png?t=" + Date.now();
    });
  }

  refresh();
  setInterval(refresh, 60000);
  live("/api/events", { queue: cases });
})();
