// The hub's only script: streaming chat, kill/resume without leaving the chat page,
// and polling a HumanEval run. Everything else works without JavaScript.
"use strict";

function sseEvents(buffer) {
  // split complete SSE events off the buffer; returns [payloads, rest]
  const out = [];
  let idx;
  while ((idx = buffer.indexOf("\n\n")) >= 0) {
    const block = buffer.slice(0, idx);
    buffer = buffer.slice(idx + 2);
    const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
    if (data) out.push(data);
  }
  return [out, buffer];
}

function setupChat(form) {
  const prompt = document.getElementById("prompt");
  const list = document.getElementById("conversation");
  const status = document.getElementById("chat-status");
  const stopped = document.getElementById("stopped");
  const send = document.getElementById("send");
  const stopBtn = document.getElementById("stop");
  const history = [];
  const t = form.dataset;  // the page's language: labels come translated from the server
  let controller = null;

  let watching = null;
  function halt(message) {
    // a halted model: no sending until the hub says it was resumed (asked every 3 s)
    send.disabled = true;
    prompt.disabled = true;
    const notice = document.getElementById("halted");
    if (notice) { notice.textContent = message; notice.hidden = false; }
    if (watching) return;
    watching = setInterval(async () => {
      let html;
      try { html = await (await fetch(location.pathname, { credentials: "same-origin" })).text(); } catch (e) { return; }
      const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("halted");
      if (!fresh || !fresh.hidden) return;
      clearInterval(watching);
      watching = null;
      send.disabled = false;
      prompt.disabled = false;
      document.getElementById("halted").hidden = true;
      stopped.hidden = true;
    }, 3000);
  }
  if (t.halted) halt(document.getElementById("halted").textContent || t.tHalted);

  function bubble(role, text) {
    const li = document.createElement("li");
    li.className = "msg " + role;
    const who = document.createElement("strong");
    who.textContent = role === "user" ? t.tYou : t.tModel;
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    li.append(who, body);
    list.append(li);
    return body;
  }

  stopBtn.addEventListener("click", () => controller && controller.abort());

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = prompt.value.trim();
    if (!text || controller) return;
    stopped.hidden = true;
    history.push({ role: "user", content: text });
    bubble("user", text);
    prompt.value = "";
    const answer = bubble("assistant", "");
    answer.parentElement.setAttribute("aria-busy", "true");
    status.textContent = t.tGenerating;
    send.disabled = true;
    stopBtn.hidden = false;
    controller = new AbortController();
    let reply = "";
    let error = null;
    try {
      const res = await fetch(form.dataset.url, {
        method: "POST", signal: controller.signal, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf, Accept: "text/event-stream" },
        body: JSON.stringify({ messages: history }),
      });
      if (!res.ok || !res.body) {
        let msg = "the hub answered " + res.status;
        try { msg = (await res.json()).error || msg; } catch (e) { /* not JSON */ }
        error = { message: msg };
      } else {
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        let done = false;
        while (!done) {
          const chunk = await reader.read();
          if (chunk.done) break;
          buffer += decoder.decode(chunk.value, { stream: true });
          let events;
          [events, buffer] = sseEvents(buffer);
          for (const data of events) {
            if (data === "[DONE]") { done = true; break; }
            let obj;
            try { obj = JSON.parse(data); } catch (e) { continue; }
            if (obj.error) { error = obj.error; continue; }
            const choice = (obj.choices || [])[0] || {};
            const piece = (choice.delta && choice.delta.content) || choice.text || "";
            if (piece) { reply += piece; answer.textContent = reply; }
          }
        }
      }
    } catch (e) {
      if (e.name !== "AbortError") error = { message: t.tLost };
      else status.textContent = t.tStoppedByYou;
    }
    answer.parentElement.setAttribute("aria-busy", "false");
    if (reply) history.push({ role: "assistant", content: reply });
    else answer.parentElement.remove();  // no empty "Model:" bubble when nothing came back
    controller = null;
    send.disabled = false;
    stopBtn.hidden = true;
    if (error) {
      const halted = error.code === "model_halted";
      stopped.textContent = (halted ? t.tStopped : t.tError) + (error.message || "?");
      stopped.className = halted ? "stopped halted" : "stopped";
      stopped.hidden = false;
      status.textContent = "";
      if (halted) halt(t.tHalted);
    } else if (status.textContent === t.tGenerating) {
      status.textContent = t.tDone;
    }
  });
}

function setupFetchForms() {
  const chatForm = document.getElementById("chat-form");
  // kill / resume on the chat page: post without navigating, so a stream being
  // written keeps going and shows the gateway's own "stopped" event
  document.querySelectorAll("form.js-fetch").forEach((f) => {
    if (f.dataset.bound) return;
    f.dataset.bound = "1";
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const csrf = f.querySelector("input[name=csrf]");
      const res = await fetch(f.action, { method: "POST", body: new FormData(f), credentials: "same-origin",
                                          headers: { Accept: "application/json", "X-CSRF-Token": csrf ? csrf.value : "" } });
      let body = {};
      try { body = await res.json(); } catch (e) { /* keep empty */ }
      const status = document.getElementById("chat-status");
      if (!res.ok) { status.textContent = (chatForm ? chatForm.dataset.tError : "") + (body.error || res.status); return; }
      status.textContent = body.message || "";
      // take the fresh controls and halted notice from the page itself
      const html = await (await fetch(location.pathname, { credentials: "same-origin" })).text();
      const doc = new DOMParser().parseFromString(html, "text/html");
      for (const sel of ["#halted", ".kill-controls"]) {
        const fresh = doc.querySelector(sel);
        const old = document.querySelector(sel);
        if (fresh && old) old.replaceWith(fresh);
      }
      setupFetchForms();
      // resumed: sending works again without a reload
      const halted = document.getElementById("halted");
      if (chatForm && halted && halted.hidden) {
        document.getElementById("send").disabled = false;
        document.getElementById("prompt").disabled = false;
      }
    });
  });
}

function setupRuns() {
  document.querySelectorAll("[data-run-status]").forEach((el) => {
    const state = el.querySelector(".run-state");
    if (!state.dataset.running) return;
    const timer = setInterval(async () => {
      const res = await fetch(el.dataset.runStatus, { credentials: "same-origin" });
      if (!res.ok) return;
      const run = await res.json();
      if (run.status !== "running") {
        clearInterval(timer);
        state.textContent = (run.status === "done" ? el.dataset.tDone : el.dataset.tFailed) + " (" + run.exit_code + ")";
        if (run.status === "done") location.reload();
      }
    }, 2000);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const chat = document.getElementById("chat-form");
  if (chat) { setupChat(chat); setupFetchForms(); }
  setupRuns();
});
