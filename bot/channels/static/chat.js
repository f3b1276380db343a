// Front Door web chat: no framework, no CDN. The conversation lives in localStorage so a reload or a
// dropped connection loses nothing; every message carries an id, so a resend is never answered twice.
(function () {
  "use strict";
  const desk = document.body.dataset.desk;
  const key = "frontdoor:" + desk;
  const state = JSON.parse(localStorage.getItem(key) || "null") || { sender: crypto.randomUUID(), log: [], pending: [], lastStaffId: 0 };
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");

  function save() { localStorage.setItem(key, JSON.stringify(state)); }

  function render(entry) {
    const li = document.createElement("li");
    li.className = entry.who;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = entry.who === "me" ? "我" : entry.who === "staff" ? "工作人员" : "在线助手";
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = entry.text;
    li.append(who, bubble);
    if (entry.buttons && entry.buttons.length) {
      const group = document.createElement("div");
      group.className = "buttons";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "快捷回复");
      for (const b of entry.buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.addEventListener("click", () => send(b.payload, b.title));
        group.append(button);
      }
      li.append(group);
    }
    log.append(li);
    log.scrollTop = log.scrollHeight;
  }

  function add(entry) { state.log.push(entry); save(); render(entry); }

  async function post(item) {
    const response = await fetch("/api/chat/" + desk, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: state.sender, text: item.text, message_id: item.id, channel: "web" }),
    });
    if (!response.ok) throw new Error((await response.json()).error || response.statusText);
    return (await response.json()).replies;
  }

  async function flush() {
    while (state.pending.length) {
      const item = state.pending[0];
      status.textContent = "对方正在输入…";
      try {
        const replies = await post(item);
        state.pending.shift(); save();
        for (const r of replies) add({ who: "bot", text: r.text, buttons: r.buttons });
        status.textContent = "";
      } catch (err) {
        status.textContent = "网络连接中断，消息已保存，正在重试…";
        setTimeout(flush, 3000);
        return;
      }
    }
  }

  function send(text, shown) {
    const item = { id: crypto.randomUUID(), text: text };
    add({ who: "me", text: shown || text });
    state.pending.push(item); save();
    if (state.pending.length === 1) flush();
  }

  async function pollStaff() {
    try {
      const r = await fetch("/api/chat/" + desk + "/updates?sender=" + encodeURIComponent(state.sender) + "&after=" + state.lastStaffId);
      if (r.ok) {
        for (const m of (await r.json()).messages) {
          state.lastStaffId = Math.max(state.lastStaffId, m.id);
          add({ who: "staff", text: m.text });
        }
        save();
      }
    } catch (err) { /* offline: try again on the next tick */ }
    setTimeout(pollStaff, 3000);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) { status.textContent = "请先输入内容"; input.focus(); return; }
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); form.requestSubmit(); }
  });
  window.addEventListener("online", flush);

  for (const entry of state.log) render(entry);
  if (!state.log.length) send("你好", "你好");
  else flush();
  pollStaff();
})();
