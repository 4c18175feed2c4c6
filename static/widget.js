// Leadroute chat widget: <script src="https://YOUR-LEADROUTE/chat/widget.js?key=FORM_KEY" async></script>
// Adds a chat button; the chat itself runs in a frame, so the host page's styles and
// scripts cannot break it (and it cannot touch the host page).
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script) return;
  const src = new URL(script.src);
  const key = src.searchParams.get("key");
  if (!key || document.getElementById("leadroute-chat-button")) return;

  const button = document.createElement("button");
  button.id = "leadroute-chat-button";
  button.type = "button";
  button.textContent = "Chat with us";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "leadroute-chat-frame");
  button.style.cssText =
    "position:fixed;right:20px;bottom:20px;z-index:2147483646;padding:12px 18px;border:0;border-radius:999px;" +
    "background:#2f5bd3;color:#fff;font:600 15px system-ui,sans-serif;box-shadow:0 6px 20px rgba(0,0,0,.25);cursor:pointer";

  const frame = document.createElement("iframe");
  frame.id = "leadroute-chat-frame";
  frame.title = "Chat";
  frame.src = `${src.origin}/chat/${encodeURIComponent(key)}`;
  frame.hidden = true;
  const phone = window.matchMedia("(max-width: 480px)");
  const place = () => {
    frame.style.cssText = phone.matches
      ? "position:fixed;inset:0;width:100%;height:100%;border:0;z-index:2147483647;background:#fff"
      : "position:fixed;right:20px;bottom:80px;width:380px;height:560px;max-height:calc(100vh - 100px);border:0;" +
        "border-radius:12px;box-shadow:0 12px 40px rgba(0,0,0,.3);z-index:2147483647;background:#fff";
  };
  place();
  phone.addEventListener("change", place);

  const toggle = (open) => {
    frame.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "Close chat" : "Chat with us";
    // On a phone the chat fills the screen and has its own close button.
    button.style.display = open && phone.matches ? "none" : "";
    if (open) frame.focus();
  };
  // The chat (in the frame, which has focus) asks to close on Escape or its close button.
  window.addEventListener("message", (event) => {
    if (event.source === frame.contentWindow && event.origin === src.origin && event.data && event.data.leadroute === "close") {
      toggle(false);
      button.focus();
    }
  });
  button.addEventListener("click", () => toggle(frame.hidden));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !frame.hidden) {
      toggle(false);
      button.focus();
    }
  });
  document.body.appendChild(frame);
  document.body.appendChild(button);
})();
