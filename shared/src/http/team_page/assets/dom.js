// What the API reference and the local emails page share: an element holding text (never
// parsed as HTML), loaded before each page's own script.
"use strict";

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
