// kernelblog: the search box. Pagefind's UI and index are files of the site itself (pagefind/,
// written by the build); nothing is fetched from elsewhere. Browsers fetch the index over HTTP,
// not from file://, so there the box says how to serve the site instead.
"use strict";

(() => {
  const box = document.getElementById("search");
  if (!box) return;
  const root = new URL("../", document.currentScript.src); // this script is static/search.js
  if (location.protocol === "file:") {
    box.textContent = "Search works when the site is served over HTTP (python -m http.server).";
    box.classList.add("search-note");
    return;
  }
  const style = document.createElement("link");
  style.rel = "stylesheet";
  style.href = new URL("pagefind/pagefind-ui.css", root).href;
  document.head.append(style);
  const script = document.createElement("script");
  script.src = new URL("pagefind/pagefind-ui.js", root).href;
  script.addEventListener("load", () => {
    new PagefindUI({
      element: "#search",
      bundlePath: new URL("pagefind/", root).pathname,
      baseUrl: root.pathname, // the site may live under a path, such as /blog/
      showImages: false,
      showSubResults: true,
      translations: { placeholder: "Search the posts" },
    });
  });
  document.head.append(script);
})();
