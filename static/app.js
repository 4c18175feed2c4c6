// Small progressive enhancements; every page works without this file.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const input = document.querySelector(button.dataset.copy);
  if (!input) return;
  input.select();
  const done = () => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard) {
    navigator.clipboard.writeText(input.value).then(done, () => document.execCommand("copy") && done());
  } else if (document.execCommand("copy")) {
    done();
  }
});

// Close the account menu when clicking elsewhere.
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.account-menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});

// Ask before a destructive action (buttons with data-confirm). Without JavaScript the form
// simply submits.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});

// A switch that greys out a group of choices (Lead routing): flipping it enables or
// disables the group at once. Without JavaScript the server renders the same state.
document.addEventListener("change", (event) => {
  const toggle = event.target.closest("[data-controls]");
  if (!toggle) return;
  document.querySelectorAll(`[data-group="${toggle.dataset.controls}"]`).forEach((group) => {
    group.disabled = !toggle.checked;
  });
});

// The bell's unread count, kept fresh without a reload by a light poll.
(() => {
  const bell = document.querySelector("[data-unread-count]");
  if (!bell) return;
  const badge = bell.querySelector(".badge");
  const refresh = async () => {
    try {
      const response = await fetch("/api/v1/notifications/unread-count", { credentials: "same-origin" });
      if (!response.ok) return;
      const { unread_count: count } = await response.json();
      badge.textContent = String(count);
      badge.hidden = count === 0;
      bell.setAttribute("aria-label", `Notifications, ${count} unread`);
    } catch (_) {
      // Offline or restarting: try again at the next tick.
    }
  };
  setInterval(refresh, 4000);
})();
