// Front Door web chat: no framework, no CDN. The conversation lives in localStorage so a reload or a
// dropped connection loses nothing; every message carries an id, so a resend is never answered twice.
// Messages that arrive later (staff replies, follow-ups, an answer recovered after a server restart)
// are polled from /api/chat/<desk>/updates; ids already shown are dropped, so nothing appears twice.
// Who is speaking is the server's to say: the page asks /api/chat/<desk>/session for a conversation
// token and sends it in the X-Chat-Token header (never in a URL). When the server no longer knows the
// token (expired after long silence), the page quietly gets a new one: a new conversation.
(function () {
  "use strict";
  const desk = document.body.dataset.desk;
  const key = "frontdoor:" + desk;
  const stored = JSON.parse(localStorage.getItem(key) || "null") || {};
  const state = {
    token: stored.token || null,
    sender: stored.sender || null,  // the server's id for this conversation (staff see it; it proves nothing)
    log: stored.log || [],
    pending: stored.pending || [],
    lastQueuedId: stored.lastQueuedId || stored.lastStaffId || 0,
    seen: stored.seen || [],
  };
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const typing = document.getElementById("typing");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  let retryDelay = 2000;
  let flushing = false;
  let pollTimer = null;

  function save() {
    state.seen = state.seen.slice(-300);
    localStorage.setItem(key, JSON.stringify(state));
  }

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

  function showReply(message, who) {
    if (message.id != null) {
      if (state.seen.includes(message.id)) return;
      state.seen.push(message.id);
    }
    add({ who: who, text: message.text, buttons: message.buttons || [] });
  }

  function setTyping(on) {
    typing.hidden = !on;
    log.setAttribute("aria-busy", on ? "true" : "false");
  }

  class Refused extends Error {}
  // 429: the server stored nothing; its body still carries what to do now (the numbers to call)
  class Limited extends Error {
    constructor(replies, seconds) { super("limited"); this.replies = replies; this.seconds = seconds; }
  }

  let tokenRequest = null;
  // The conversation's token, asked for once (concurrent callers share the request).
  function token() {
    if (state.token) return Promise.resolve(state.token);
    if (!tokenRequest) {
      tokenRequest = fetch("/api/chat/" + desk + "/session", { method: "POST" })
        .then((r) => { if (!r.ok) throw new Error(r.statusText); return r.json(); })
        .then((body) => { state.token = body.token; state.sender = body.sender; save(); return state.token; })
        .finally(() => { tokenRequest = null; });
    }
    return tokenRequest;
  }

  // A 401 saying the token is unknown or expired: forget it, so the next call starts a new conversation.
  async function tokenRefused(response) {
    if (response.status !== 401) return false;
    let code = null;
    try { code = (await response.clone().json()).code; } catch (e) { /* not JSON */ }
    if (code !== "chat_token_invalid") return false;
    state.token = null; save();
    return true;
  }

  async function authorisedFetch(url, options) {
    for (let attempt = 0; ; attempt++) {
      const headers = Object.assign({}, options.headers, { "X-Chat-Token": await token() });
      const response = await fetch(url, Object.assign({}, options, { headers: headers }));
      if (attempt === 0 && await tokenRefused(response)) continue;
      return response;
    }
  }

  async function post(item) {
    const response = await authorisedFetch("/api/chat/" + desk, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: item.text, message_id: item.id }),
    });
    if (response.status === 429) {
      let body = {};
      try { body = await response.json(); } catch (e) { /* not JSON */ }
      const seconds = Number(response.headers.get("Retry-After")) || body.retry_after || 5;
      throw new Limited(body.replies || [], seconds);
    }
    if (response.status >= 400 && response.status < 500) {
      let reason = response.statusText;
      try { reason = (await response.json()).error || reason; } catch (e) { /* not JSON */ }
      throw new Refused(reason);
    }
    if (!response.ok) throw new Error(response.statusText);
    return (await response.json()).replies;
  }

  // Sends waiting messages one by one, in order; a network failure keeps them and retries with backoff.
  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      while (state.pending.length) {
        const item = state.pending[0];
        setTyping(true);
        try {
          const replies = await post(item);
          state.pending.shift(); save();
          for (const r of replies) showReply(r, "bot");
          status.textContent = "";
          retryDelay = 2000;
        } catch (err) {
          if (err instanceof Limited) {  // keep the message and send it again when the server says
            if (!item.limitedShown) {
              item.limitedShown = true; save();
              for (const r of err.replies) showReply(r, "bot");
            }
            status.textContent = "消息发得有点快，" + err.seconds + "秒后自动重发。";
            setTimeout(flush, err.seconds * 1000);
            return;
          }
          if (err instanceof Refused) {  // the server will never take this one: say so and move on
            state.pending.shift(); save();
            status.textContent = "这条消息没有发送成功：" + err.message;
            continue;
          }
          status.textContent = "网络连接中断，消息已保存，正在重新连接…";
          setTimeout(flush, retryDelay);
          retryDelay = Math.min(retryDelay * 2, 30000);
          return;
        }
      }
    } finally {
      flushing = false;
      setTyping(false);
    }
  }

  function send(text, shown) {
    const item = { id: crypto.randomUUID(), text: text };
    add({ who: "me", text: shown || text });
    state.pending.push(item); save();
    flush();
  }

  async function poll() {
    clearTimeout(pollTimer);
    try {
      const url = "/api/chat/" + desk + "/updates?after=" + state.lastQueuedId;
      const r = await authorisedFetch(url, {});
      if (r.ok) {
        for (const m of (await r.json()).messages) {
          state.lastQueuedId = Math.max(state.lastQueuedId, m.id);
          showReply(m, m.from === "staff" ? "staff" : "bot");
        }
        save();
      }
    } catch (err) { /* offline: try again on the next tick */ }
    pollTimer = setTimeout(poll, document.hidden ? 15000 : 3000);
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
  window.addEventListener("online", () => { retryDelay = 2000; flush(); poll(); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });

  for (const entry of state.log) render(entry);
  save();
  if (!state.log.length) send("你好", "你好");
  else flush();
  poll();
})();
