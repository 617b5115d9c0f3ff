// The emails the local emulator's SES accepted (its state dump, `/moto-api/data.json`), newest
// first, shown as text. Only `make dev` configures this page.
"use strict";

function list(value) {
  return Array.isArray(value) ? value.filter((v) => typeof v === "string") : [];
}

async function show() {
  const url = document.querySelector('meta[name="telltale-emails-url"]').content;
  const messages = document.getElementById("messages");
  const main = document.getElementById("emails");
  let data;
  try {
    const resp = await fetch(url);
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    data = await resp.json();
  } catch (e) {
    messages.replaceChildren(el("p", `The local SES could not be read at ${url}: ${e.message}`, "error"));
    return;
  }
  const sent = ((data.ses || {}).Message || []).slice().reverse();
  messages.replaceChildren(el("p", `${sent.length} email(s).`, "info"));
  main.replaceChildren(...sent.map((m) => {
    const article = el("article", null, "email");
    const to = m.destinations || {};
    article.append(el("h2", m.subject || "(no subject)", "user"));
    const dl = el("dl");
    [["From", [m.source]], ["To", list(to.ToAddresses)], ["Cc", list(to.CcAddresses)],
     ["Bcc", list(to.BccAddresses)]].forEach(([name, values]) => {
      if (values.length && values[0]) dl.append(el("dt", name), el("dd", values.join(", "), "user"));
    });
    article.append(dl, el("pre", m.body || "", "user"));
    return article;
  }));
}

document.getElementById("reload").addEventListener("click", show);
show();
