/* The case page: live transcript, account facts, offers, decisions, hand back and close. */
"use strict";

(() => {
  const { api, notify, live, el, yuan, time, channel } = Console;
  const caseId = document.getElementById("case-root").dataset.caseId;
  const userId = Number(document.body.dataset.userId);
  const transcript = document.getElementById("transcript");
  const seen = new Set();
  const AUTHORS = { cardholder: "客户", bot: "智能助手", specialist: "专员", system: "系统" };
  // the contract's reasons (bot/contract.py HARDSHIP_REASON_NAMES)
  const HARDSHIP = { unemployment: "失业", illness: "生病或受伤", business_loss: "生意亏损", income_drop: "收入减少", family_emergency: "家庭变故", other_debts: "其他欠款太多", disaster: "自然灾害" };
  const TYPES = { full_payment: "一次性还清", minimum_payment: "最低还款", installment: "分期", personalized_installment: "个性化分期", deferral: "延期", waiver: "减免" };
  let current = null;

  function addItems(items) {
    const atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    items.forEach((item) => {
      if (seen.has(item.key)) return;
      seen.add(item.key);
      transcript.append(el("li", { className: item.author, "data-key": item.key },
        el("span", { className: "meta" },
          (AUTHORS[item.author] || item.author) + (item.name ? " " + item.name : "") + " · " + time(item.at)),
        item.text));
    });
    if (atBottom || items.length) transcript.scrollTop = transcript.scrollHeight;
  }

  function facts(node, pairs) {
    node.replaceChildren();
    if (!pairs) { node.append(el("dd", {}, "无")); return; }
    pairs.forEach(([label, value]) => node.append(el("dt", {}, label), el("dd", {}, value)));
  }

  function renderAccount(account) {
    facts(document.getElementById("account"), account && [
      ["持卡人", account.holder_name], ["账户", account.account_id],
      ["欠款合计", yuan(account.total_due)], ["本金", yuan(account.principal)],
      ["利息", yuan(account.interest)], ["违约金", yuan(account.penalty)],
      ["最低还款", yuan(account.minimum_payment)], ["逾期天数", account.overdue_days + " 天"],
      ["已有分期", account.has_active_installment ? "是" : "否"],
    ]);
  }

  function renderHardship(h) {
    facts(document.getElementById("hardship"), h && [
      ["原因", HARDSHIP[h.reason] || h.reason], ["月收入", yuan(h.monthly_income)],
      ["月支出", yuan(h.monthly_expenses)], ["其他债务月供", yuan(h.other_debt_payments)],
      ["供养人数", h.dependents], ["预计恢复", h.expected_recovery_months + " 个月"],
    ]);
  }

  function renderOffers(offers) {
    const body = document.getElementById("offers");
    body.replaceChildren();
    if (!offers.length) body.append(el("tr", {}, el("td", { colspan: 6 }, "尚未提出方案")));
    offers.forEach((o) => body.append(el("tr", {},
      el("td", {}, o.rank), el("td", {}, TYPES[o.type] || o.type), el("td", {}, o.months),
      el("td", {}, yuan(o.monthly_payment)), el("td", {}, yuan(o.total_payment)),
      el("td", {}, o.requires_approval ? "是" : "否"))));
  }

  async function decide(reference, approve) {
    const noteField = document.getElementById("note-" + reference);
    const note = noteField ? noteField.value.trim() : "";
    if (!approve && !note) { notify("拒绝时请填写原因（客户会看到）。", true); noteField.focus(); return; }
    try {
      const result = await api("POST", "/api/applications/" + encodeURIComponent(reference) + "/decision", { approve, note });
      notify("申请 " + reference + (result.status === "approved" ? " 已批准，已通知客户。" : " 已拒绝，已通知客户。"));
      await load();
    } catch (error) { notify(error.message, true); }
  }

  function renderAgreements(agreements, may) {
    const box = document.getElementById("applications");
    box.replaceChildren();
    if (!agreements.length) box.append(el("p", { className: "muted" }, "没有申请。"));
    agreements.forEach((a) => {
      const o = a.offer;
      const card = el("div", { className: "application" + (a.pending ? " pending" : ""), id: "application-" + a.reference },
        el("strong", {}, a.reference), " ", el("span", { className: "badge" }, a.status_label),
        el("p", {}, (TYPES[o.type] || o.type) + " · " + o.months + " 期 · 月供 " + yuan(o.monthly_payment) + " · 总额 " + yuan(o.total_payment)));
      if (a.pending && (may.can_approve || may.can_reject)) {
        const buttons = el("div", { className: "actions" });
        if (may.can_approve) buttons.append(el("button", { type: "button", className: "approve", onclick: () => decide(a.reference, true) }, "批准"));
        if (may.can_reject) buttons.append(el("button", { type: "button", className: "reject danger", onclick: () => decide(a.reference, false) }, "拒绝"));
        card.append(
          el("label", { for: "note-" + a.reference }, may.can_reject ? "审批意见（拒绝时必填）" : "审批意见"),
          el("input", { id: "note-" + a.reference, maxlength: 500 }),
          buttons);
      }
      if (a.pending && may.four_eyes && !may.can_approve) {
        card.append(el("p", { className: "muted four-eyes" }, "按规定，审批需由另一位专员或主管完成。"));
      }
      box.append(card);
    });
  }

  function renderCase(state) {
    const c = state.case;
    current = c;
    const held = c.status === "claimed" && c.claimed_by === userId;
    document.getElementById("case-status").textContent = c.status_label;
    document.getElementById("case-status").className = "badge" + (c.urgent ? " urgent" : "");
    document.getElementById("case-summary").textContent = [
      (c.urgent ? "【紧急】" : "") + c.reason_label,
      "渠道：" + channel(c.channel),
      "转人工时间：" + time(c.created_at),
      c.claimed_by_name ? "专员：" + c.claimed_by_name : "",
      c.message ? "转人工时客户说：" + c.message : "",
      c.left_message ? "客户留言：" + c.left_message : "",
      c.outcome_label ? "结果：" + c.outcome_label : "",
      c.status === "returned" ? "已交还助手（" + (c.resume_step === "propose_plans" ? "重新提出方案" : "从中断处继续") + "）" : "",
    ].filter(Boolean).join(" · ");
    document.getElementById("claim-box").hidden = c.status !== "open";
    document.getElementById("reply-form").hidden = !held;
    document.getElementById("hand-back-form").hidden = !held;
    document.getElementById("close-form").hidden = !state.permissions.can_close;
    renderOffers(state.offers);
    renderHardship(state.hardship);
    renderAgreements(state.agreements, state.permissions);
    renderTrail(state.trail || []);
    renderNotes(state.notes || []);
    document.getElementById("note-form").hidden = !state.permissions.can_note;
    renderHistory(state.history);
  }

  // the account's earlier cases, plans, promises, payments and complaints (bot/console/history.py)
  function renderHistory(history) {
    const node = document.getElementById("history");
    if (!history) { node.replaceChildren(el("p", { className: "muted" }, "身份未核实，无账户历史。")); return; }
    const part = (title, rows, line) => el("section", {},
      el("h3", {}, title + "（" + rows.length + "）"),
      rows.length ? el("ul", {}, ...rows.map((r) => el("li", {}, line(r)))) : el("p", { className: "muted" }, "无"));
    node.replaceChildren(
      part("以往案件", history.cases, (c) => "#" + c.id + " " + c.reason_label + " · " +
        (c.outcome_label || c.status_label) + " · " + time(c.created_at)),
      part("还款方案", history.agreements, (a) => a.reference + " · " + (TYPES[a.type] || a.type) + " · " +
        a.months + " 期 · 月供 " + yuan(a.monthly_payment) + " · " + a.status_label),
      part("还款承诺", history.promises, (p) => p.reference + " · " + yuan(p.amount) + " · 到期 " +
        p.due_date + " · 已还 " + yuan(p.paid) + " · " + p.state_label),
      part("还款记录", history.payments, (p) => yuan(p.amount) + " · " + time(p.paid_at)),
      part("投诉", history.complaints, (c) => c.reference + " · " + (c.status === "open" ? "处理中" : c.status) +
        " · " + c.excerpt));
  }

  function renderNotes(notes) {
    document.getElementById("notes").replaceChildren(...(notes.length ? notes.map((n) => el("li", {},
      el("span", { className: "meta" }, time(n.at) + " · " + n.author), n.text))
      : [el("li", { className: "muted" }, "暂无备注")]));
  }

  function renderTrail(trail) {
    document.getElementById("trail").replaceChildren(...trail.map((t) => el("li", {},
      el("span", { className: "meta" }, time(t.at) + " · " + t.actor),
      t.label + (t.detail ? "（" + t.detail + "）" : ""))));
  }

  // the bank's canned replies for this case (policy/canned_replies.yml), filled in
  function renderCanned(replies) {
    const select = document.getElementById("canned");
    select.replaceChildren(el("option", { value: "" }, "选择一条，放入下面的输入框…"),
      ...replies.map((r, i) => el("option", { value: String(i) }, r.title)));
    select.onchange = () => {
      if (select.value === "") return;
      const field = document.getElementById("reply-text");
      field.value = replies[Number(select.value)].text;
      field.focus();
      select.value = "";
    };
  }

  function renderChoices(data) {
    renderCanned(data.canned || []);
    const steps = document.getElementById("resume-steps");
    steps.replaceChildren(...data.resume_steps.map((s, i) => el("label", {},
      el("input", { type: "radio", name: "step", value: s.step || "", checked: i === 0 }), s.label)));
    const outcome = document.getElementById("outcome");
    outcome.replaceChildren(el("option", { value: "" }, "请选择…"),
      ...data.outcomes.map((o) => el("option", { value: o.code }, o.label)));
  }

  async function load() {
    const data = await api("GET", "/api/cases/" + caseId);
    renderAccount(data.account);
    renderCase(data);
    addItems(data.transcript);
    return data;
  }

  document.getElementById("claim-button").addEventListener("click", async (event) => {
    event.currentTarget.disabled = true;
    try { await api("POST", "/api/cases/" + caseId + "/claim"); notify("已领取，客户已收到通知。"); await load(); }
    catch (error) { notify(error.message, true); }
    finally { event.target.disabled = false; }
  });

  document.getElementById("reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = document.getElementById("reply-text");
    const text = field.value.trim();
    if (!text) return;
    try { await api("POST", "/api/cases/" + caseId + "/reply", { text }); field.value = ""; field.focus(); }
    catch (error) { notify(error.message, true); }
  });

  document.getElementById("hand-back-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = document.querySelector('input[name="step"]:checked');
    const step = chosen && chosen.value ? chosen.value : null;
    try { await api("POST", "/api/cases/" + caseId + "/hand-back", { step }); notify("已交还智能助手。"); await load(); }
    catch (error) { notify(error.message, true); }
  });

  document.getElementById("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = document.getElementById("note-text");
    const text = field.value.trim();
    if (!text) return;
    try { await api("POST", "/api/cases/" + caseId + "/notes", { text }); field.value = ""; notify("备注已保存。"); await load(); }
    catch (error) { notify(error.message, true); }
  });

  document.getElementById("close-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const outcome = document.getElementById("outcome").value;
    if (!outcome) { notify("请选择结案结果。", true); return; }
    try { await api("POST", "/api/cases/" + caseId + "/close", { outcome }); notify("案件已结案。"); await load(); }
    catch (error) { notify(error.message, true); }
  });

  load().then((data) => {
    renderChoices(data);
    live("/api/events?case=" + caseId, {
      case: (state) => { if (current) renderCase(state); },
      transcript: (data) => addItems(data.items),
    });
  }).catch((error) => {
    // not this specialist's case (or gone): say whose, and offer no control at all
    const refused = document.getElementById("case-refused");
    refused.textContent = error.message;
    refused.hidden = false;
    document.querySelector(".case-grid").hidden = true;
  });
})();
