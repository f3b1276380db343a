// Staff console: small progressive enhancements only; every form works without JavaScript.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Canned replies fill the reply box; staff adjust the text before sending.
  const box = document.getElementById("reply-text");
  document.querySelectorAll("button[data-canned]").forEach((button) => {
    button.addEventListener("click", () => {
      if (!box) return;
      box.value = button.dataset.canned;
      box.focus();
    });
  });
  // Put the caret on the line the catalogue validator complained about.
  const editor = document.getElementById("content");
  if (editor && editor.dataset.errorLine) {
    const line = parseInt(editor.dataset.errorLine, 10);
    const lines = editor.value.split("\n");
    const offset = lines.slice(0, Math.max(0, line - 1)).reduce((n, l) => n + l.length + 1, 0);
    editor.focus();
    editor.setSelectionRange(offset, offset + (lines[line - 1] || "").length);
    editor.scrollTop = Math.max(0, (line - 5) * 18);
  }
});
