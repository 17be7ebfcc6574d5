/**
 * The page's only script, served from /assets/page.js (CSP `script-src 'self'`): shows the copy
 * buttons and puts a snippet on the clipboard. Without it the snippets are still plain,
 * selectable text.
 */
export const COPY_SCRIPT = `"use strict";
for (const button of document.querySelectorAll("button[data-copy]")) {
  const source = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.dataset.copy + "-status");
  if (!source || !status || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.textContent);
      status.textContent = "Copied";
    } catch {
      status.textContent = "Could not copy: select the text and copy it";
    }
    setTimeout(() => { status.textContent = ""; }, 5000);
  });
}
`;
