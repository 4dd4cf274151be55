// kernelblog: copy buttons, long outputs collapsed, everything open for printing. No network.
"use strict";

document.querySelectorAll(".cell").forEach((cell) => {
  const button = cell.querySelector("button.copy");
  if (!button) return;
  // The code as it ran: added imports, the author's lines, the data setup among them.
  const code = () => Array.from(cell.querySelectorAll(".source pre.code"), (pre) => pre.textContent).join("\n");
  button.hidden = false;
  button.setAttribute("aria-label", "Copy the code of this cell, with the imports and data the build added");
  button.addEventListener("click", async () => {
    let done = true;
    try {
      await navigator.clipboard.writeText(code());
    } catch (error) {
      done = false;
    }
    button.textContent = done ? "Copied" : "Copy failed";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
});

document.querySelectorAll("pre.output[data-lines]").forEach((pre) => {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "show-all";
  button.setAttribute("aria-expanded", "false");
  const label = () => {
    const collapsed = pre.classList.contains("collapsed");
    button.textContent = collapsed ? `Show all ${pre.dataset.lines} lines` : "Show less";
    button.setAttribute("aria-expanded", String(!collapsed));
  };
  pre.classList.add("collapsed");
  label();
  button.addEventListener("click", () => { pre.classList.toggle("collapsed"); label(); });
  pre.after(button);
});

window.addEventListener("beforeprint", () => {
  document.querySelectorAll("details:not([open])").forEach((details) => {
    details.open = true;
    details.dataset.printOpened = "";
  });
});
window.addEventListener("afterprint", () => {
  document.querySelectorAll("details[data-print-opened]").forEach((details) => {
    details.open = false;
    delete details.dataset.printOpened;
  });
});
