/* The 案件查询 page: search, filters, sort and pages over every case the user may see. */
"use strict";

(() => {
  const { api, notify, el, time, channel } = Console;
  const form = document.getElementById("search-form");
  const body = document.getElementById("search-body");
  let page = 1;
  let pages = 1;
  let filled = false;

  function fill(select, options) {
    const keep = select.querySelector('option[value=""]');
    select.replaceChildren(...(keep ? [keep] : []),
      ...options.map((o) => el("option", { value: String(o.code) }, o.label)));
  }

  async function fillChoices(choices) {
    if (filled) return;
    filled = true;
    fill(document.getElementById("status"), choices.statuses);
    fill(document.getElementById("reason"), choices.reasons);
    fill(document.getElementById("priority"), choices.priorities);
    fill(document.getElementById("sort"), choices.sorts);
    const assignee = document.getElementById("assignee");
    try {
      const data = await api("GET", "/api/specialists");
      assignee.append(...data.specialists.map((s) => el("option", { value: String(s.id) }, s.name)));
    } catch (error) { notify(error.message, true); }
  }

  function query() {
    const params = new URLSearchParams();
    new FormData(form).forEach((value, name) => { if (String(value).trim()) params.set(name, String(value).trim()); });
    params.set("page", String(page));
    return params;
  }

  async function run() {
    const params = query();
    try {
      const data = await api("GET", "/api/cases?" + params.toString());
      pages = data.pages;
      render(data);
      history.replaceState(null, "", "/search?" + params.toString());
    } catch (error) { notify(error.message, true); }
  }

  function render(data) {
    document.getElementById("search-total").textContent = "共 " + data.total + " 件";
    document.getElementById("page-info").textContent = "第 " + data.page + " / " + data.pages + " 页";
    document.getElementById("prev-page").disabled = data.page <= 1;
    document.getElementById("next-page").disabled = data.page >= data.pages;
    if (!data.cases.length) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 8 }, "没有符合条件的案件。")));
      return;
    }
    body.replaceChildren(...data.cases.map((c) => el("tr", { className: c.urgent ? "urgent" : "", id: "found-" + c.id },
      el("td", { "data-label": "优先级" }, ["紧急", "高", "普通"][c.priority] || String(c.priority)),
      el("td", { "data-label": "案件" }, el("a", { href: "/cases/" + c.id }, "#" + c.id)),
      el("td", { "data-label": "客户" }, c.holder_name || "未验证身份"),
      el("td", { "data-label": "原因" }, c.reason_label),
      el("td", { "data-label": "渠道" }, channel(c.channel)),
      el("td", { "data-label": "转人工时间" }, time(c.created_at)),
      el("td", { "data-label": "状态" }, c.outcome_label ? c.status_label + "（" + c.outcome_label + "）" : c.status_label),
      el("td", { "data-label": "专员" }, c.claimed_by_name || "—"))));
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); page = 1; run(); });
  document.getElementById("prev-page").addEventListener("click", () => { if (page > 1) { page -= 1; run(); } });
  document.getElementById("next-page").addEventListener("click", () => { if (page < pages) { page += 1; run(); } });

  // the filters' choices first, then a shared link's filters (/search?q=…), then the search
  api("GET", "/api/cases?per_page=1").then(async (data) => {
    await fillChoices(data.choices);
    new URLSearchParams(window.location.search).forEach((value, name) => {
      if (name === "page") { page = Math.max(1, Number(value) || 1); return; }
      const field = form.elements.namedItem(name);
      if (field) field.value = value;
    });
    await run();
  }).catch((error) => notify(error.message, true));
})();
