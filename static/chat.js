// The chat page, enhanced: messages are sent without a reload, with a typing indicator.
// Without JavaScript the form posts and the page comes back with the answer.
"use strict";

(() => {
  const root = document.querySelector("[data-chat]");
  if (!root) return;
  // Inside the widget's frame: Escape and the close button ask the host page to close it.
  if (window.parent !== window) {
    const close = () => window.parent.postMessage({ leadroute: "close" }, "*");
    const button = root.querySelector("[data-close]");
    button.hidden = false;
    button.addEventListener("click", close);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
    });
  }
  const form = root.querySelector("form.composer");
  if (!form) return;
  const list = root.querySelector(".messages");
  const typing = root.querySelector(".typing");
  const input = form.querySelector("textarea");
  const idField = form.querySelector("input[name=conversation_id]");
  const key = root.dataset.formKey;

  const add = (text, who) => {
    const li = document.createElement("li");
    li.className = `bubble ${who}`;
    li.textContent = text;
    list.appendChild(li);
    li.scrollIntoView({ block: "end" });
  };

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (!message) return;
    add(message, "visitor");
    input.value = "";
    input.disabled = true;
    typing.hidden = false;
    try {
      const response = await fetch(`/api/v1/public/chat/${encodeURIComponent(key)}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ conversation_id: idField.value || undefined, message }),
      });
      const body = await response.json();
      if (response.ok) {
        idField.value = body.conversation_id;
        add(body.reply, "assistant");
        if (body.lead_id) form.remove();
      } else {
        add(body.error ? body.error.message : "Something went wrong. Please try again.", "assistant notice");
      }
    } catch (_) {
      add("We couldn't reach the server. Please try again in a moment.", "assistant notice");
    } finally {
      typing.hidden = true;
      input.disabled = false;
      if (input.isConnected) input.focus();
    }
  });
})();
