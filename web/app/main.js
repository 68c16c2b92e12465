// The field app: screens over the sync engine. Everything shown comes from the local copy
// (IndexedDB), so every screen works offline; changes go to the outbox and out on sync.
import { html, render, useEffect, useMemo, useRef, useState } from "../vendor/htm-3.1.1/preact-standalone.module.js";
import { NetworkError, SyncEngine } from "../sync/engine.js";
import { isOpen, needsNote } from "../sync/lifecycle.js";
import { beijingDay, enumValues, formatSpan, formatTime, label, pickLanguage, t } from "./i18n.js";
import { resizePhoto } from "./photo.js";

const engine = new SyncEngine({ baseUrl: location.origin });
let lang = "zh-CN";
const tr = (key, values) => t(lang, key, values);

// --- small hooks ---------------------------------------------------------------------------

function useRevision() {
  const [rev, setRev] = useState(0);
  useEffect(() => {
    const bump = () => setRev((r) => r + 1);
    engine.addEventListener("change", bump);
    window.addEventListener("online", bump);
    window.addEventListener("offline", bump);
    return () => {
      engine.removeEventListener("change", bump);
      window.removeEventListener("online", bump);
      window.removeEventListener("offline", bump);
    };
  }, []);
  return rev;
}

function useData(load, deps) {
  const [value, setValue] = useState(null);
  useEffect(() => {
    let live = true;
    load().then((v) => live && setValue(v));
    return () => {
      live = false;
    };
  }, deps);
  return value;
}

function useRoute() {
  const [hash, setHash] = useState(location.hash || "#/");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/");
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return hash.slice(1).split("/").filter(Boolean);
}

const go = (hash) => {
  location.hash = hash;
};

// --- syncing in the background ----------------------------------------------------------

let timer = null;
function syncSoon(delay = 800) {
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (navigator.onLine && engine.signedIn) engine.sync().catch(() => {});
  }, delay);
}

// --- the frame ---------------------------------------------------------------------------

function SyncBar({ rev }) {
  const online = navigator.onLine;
  const unsent = useData(() => engine.unsent(), [rev]);
  const conflicts = useData(
    async () => (await engine.list("syncConflicts")).filter((c) => c.data.status === "OPEN").length,
    [rev],
  );
  const last = engine.meta.lastSyncAt;
  const error = engine.meta.lastError;
  return html`<header class="syncbar" role="status" aria-live="polite" data-testid="syncbar"
      data-online=${String(online)} data-unsent=${unsent == null ? "" : String(unsent)}
      data-syncing=${String(!!engine.syncing)} data-last-sync=${last || ""}>
    <span class=${`dot ${online ? "on" : "off"}`} aria-hidden="true"></span>
    <span data-testid="network">${online ? tr("sync.online") : tr("sync.offline")}</span>
    <span data-testid="unsent" data-count=${unsent ?? ""}>${unsent ? tr("sync.unsent", { n: unsent }) : tr("sync.allSent")}</span>
    <span class="muted">${engine.syncing ? tr("sync.syncing") : last ? tr("sync.last", { time: formatTime(lang, last) }) : tr("sync.never")}</span>
    ${conflicts ? html`<a class="warn" href="#/conflicts" data-testid="conflict-count">${tr("sync.conflicts", { n: conflicts })}</a>` : null}
    ${error && online && !engine.syncing ? html`<span class="warn">${tr("sync.failed", { message: error.message })}</span>` : null}
    <button class="small" onClick=${() => engine.sync().catch(() => {})} disabled=${!online || !!engine.syncing}>${tr("sync.retry")}</button>
  </header>`;
}

function Notices({ rev }) {
  const notices = useData(async () => (await engine.notices()).filter((n) => n.status === "REJECTED"), [rev]);
  if (!notices?.length) return null;
  return html`<div class="notices">
    ${notices.map(
      (n) => html`<div class="notice" role="alert" key=${n.mutationId}>
        ${tr("notices.rejected", { message: n.error?.message || n.error?.code })}
        <button class="small" onClick=${() => engine.dismissNotice(n.mutationId)}>${tr("notices.dismiss")}</button>
      </div>`,
    )}
  </div>`;
}

function Nav({ route, rev }) {
  const unread = useData(
    async () => (await engine.list("notifications")).filter((n) => !n.data.readAt).length,
    [rev],
  );
  const items = [
    ["#/", "work", "nav.work", "M4 5h16M4 12h16M4 19h10"],
    ["#/report", "report", "nav.report", "M12 4v16M4 12h16"],
    ["#/activities", "activities", "nav.activities", "M4 6h16v14H4zM4 10h16M8 3v5M16 3v5"],
    ["#/inbox", "inbox", "nav.inbox", "M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20h4"],
    ["#/settings", "settings", "nav.settings", "M12 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8M12 2v4M12 18v4M2 12h4M18 12h4"],
  ];
  const here = route[0] || "work";
  return html`<nav class="tabs" aria-label=${tr("app.name")}>
    ${items.map(
      ([href, key, text, icon]) => html`<a href=${href} key=${key} aria-current=${here === key || (key === "work" && here === "ticket") ? "page" : null}>
        <svg aria-hidden="true" width="24" height="24" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"><path d=${icon} /></svg>${tr(text)}${key === "inbox" && unread ? html`<b class="badge" data-testid="unread">${unread}</b>` : null}
      </a>`,
    )}
  </nav>`;
}

// --- sign-in -----------------------------------------------------------------------------

function Login() {
  const [phone, setPhone] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await engine.signIn(phone.trim(), password);
      await engine.sync();
      go("#/");
    } catch (e) {
      setError(e instanceof NetworkError ? tr("login.offline") : e.message.replace(/^[A-Z_]+: /, ""));
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <h1>${tr("app.name")}</h1>
    <p class="muted">${tr("app.tagline")}</p>
    <form onSubmit=${submit}>
      <label>${tr("login.phone")}<input name="phone" type="tel" inputmode="numeric" autocomplete="username" required value=${phone} onInput=${(e) => setPhone(e.target.value)} /></label>
      <label>${tr("login.password")}<input name="password" type="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <button class="primary" type="submit" disabled=${busy}>${busy ? tr("login.busy") : tr("login.submit")}</button>
    </form>
  </main>`;
}

// --- my work -------------------------------------------------------------------------------

function dueOf(ticket) {
  return ticket.firstRespondedAt || ticket.status !== "REPORTED" ? ticket.resolutionDueAt : ticket.firstResponseDueAt || ticket.resolutionDueAt;
}

function Work({ rev }) {
  const [query, setQuery] = useState("");
  const [filter, setFilter] = useState("mine");
  const data = useData(async () => {
    const [tickets, enterprises, outbox] = await Promise.all([engine.list("tickets"), engine.list("enterprises"), engine.outbox()]);
    return { tickets, enterprises: Object.fromEntries(enterprises.map((e) => [e.id, e.data])), unsent: new Set(outbox.map((o) => o.id)) };
  }, [rev]);
  if (!data || !engine.rules) return html`<main></main>`;
  const now = Date.now();
  const me = engine.me?.uuid;
  const q = query.trim().toLowerCase();
  const rows = data.tickets
    .map((r) => r.data)
    .filter((tk) => {
      const open = isOpen(engine.rules, tk.status);
      const due = dueOf(tk);
      if (filter === "mine" && !(open && tk.assigneeId === me)) return false;
      if (filter === "all" && !open) return false;
      if (filter === "overdue" && !(open && due && Date.parse(due) < now)) return false;
      if (filter === "closed" && open) return false;
      if (!q) return true;
      const ent = data.enterprises[tk.enterpriseId];
      return [tk.number, tk.title, tk.description, ent?.name, ent?.creditCode].some((v) => v && v.toLowerCase().includes(q));
    })
    .sort((a, b) => {
      const da = Date.parse(dueOf(a) || "9999-12-31");
      const db = Date.parse(dueOf(b) || "9999-12-31");
      return (da < now) === (db < now) ? da - db : da < now ? -1 : 1;
    });
  const filters = ["mine", "all", "overdue", "closed"];
  return html`<main>
    <h1>${tr("work.title")}</h1>
    <input type="search" aria-label=${tr("work.search")} placeholder=${tr("work.search")} value=${query} onInput=${(e) => setQuery(e.target.value)} />
    <div class="chips" role="group" aria-label=${tr("work.filter")}>
      ${filters.map((f) => html`<button key=${f} class=${filter === f ? "chip on" : "chip"} aria-pressed=${filter === f} onClick=${() => setFilter(f)}>${tr(`work.filter.${f}`)}</button>`)}
    </div>
    ${rows.length === 0 ? html`<p class="muted">${tr("work.empty")}</p>` : null}
    <ul class="cards" data-testid="ticket-list">
      ${rows.map((tk) => {
        const due = dueOf(tk);
        const left = due ? Date.parse(due) - now : null;
        return html`<li key=${tk.id}>
          <a class=${`card sev-${tk.severity}`} href=${`#/ticket/${tk.id}`} data-ticket=${tk.id}>
            <div class="row"><span class="num">${tk.number || tr("work.unsentMark")}</span>
              <span class=${`pill sev-${tk.severity}`}>${label(lang, "Severity", tk.severity)}</span>
              <span class="pill">${label(lang, "TicketStatus", tk.status)}</span></div>
            <div class="title">${tk.title}</div>
            <div class="row muted">${data.enterprises[tk.enterpriseId]?.name || ""}</div>
            ${isOpen(engine.rules, tk.status) && left != null
              ? html`<div class=${left < 0 ? "due over" : "due"}>${left < 0 ? tr("work.overdueBy", { left: formatSpan(lang, left) }) : tr("work.dueIn", { left: formatSpan(lang, left) })}</div>`
              : null}
            ${data.unsent.has(tk.id) ? html`<div class="unsent">${tr("work.unsentMark")}</div>` : null}
          </a>
        </li>`;
      })}
    </ul>
  </main>`;
}

// --- one ticket -----------------------------------------------------------------------------

function Photos({ ticketId, rev }) {
  const files = useData(() => engine.files(ticketId), [rev, ticketId]);
  const urls = useMemo(() => (files || []).map((f) => [f, URL.createObjectURL(new Blob([f.bytes], { type: f.contentType }))]), [files]);
  useEffect(() => () => urls.forEach(([, u]) => URL.revokeObjectURL(u)), [urls]);
  if (!urls.length) return null;
  return html`<section><h2>${tr("ticket.photos")}</h2><div class="photos">
    ${urls.map(([f, u]) => html`<figure key=${f.id}><img src=${u} alt=${tr("ticket.photos")} width="96" height="96" /><figcaption>${f.uploaded ? tr("ticket.photoUploaded") : tr("ticket.photoWaiting")}</figcaption></figure>`)}
  </div></section>`;
}

function TicketView({ id, rev }) {
  const data = useData(async () => {
    const record = await engine.get("tickets", id);
    if (!record) return { gone: true };
    const [ent, grid, comments] = await Promise.all([
      record.data.enterpriseId ? engine.get("enterprises", record.data.enterpriseId) : null,
      engine.get("grids", record.data.gridId),
      engine.list("ticketComments"),
    ]);
    return {
      tk: record.data,
      ent: ent?.data,
      grid: grid?.data,
      comments: comments.map((c) => c.data).filter((c) => c.ticketId === id).sort((a, b) => (a.occurredAt < b.occurredAt ? -1 : 1)),
    };
  }, [rev, id]);
  const [note, setNote] = useState("");
  const [comment, setComment] = useState("");
  const [editing, setEditing] = useState(null);
  const [problem, setProblem] = useState(null);
  if (!data) return html`<main></main>`;
  if (data.gone) return html`<main><a class="back" href="#/">‹ ${tr("ticket.back")}</a><p>${tr("ticket.gone")}</p></main>`;
  const { tk } = data;
  const moves = engine.allowedMoves(tk);
  const move = async (status) => {
    if (needsNote(engine.rules, status) && !note.trim() && !tk.resolutionNote) {
      setProblem(tr("ticket.noteNeeded"));
      return;
    }
    setProblem(null);
    await engine.update("tickets", id, needsNote(engine.rules, status) && note.trim() ? { status, resolutionNote: note.trim() } : { status });
    syncSoon();
  };
  const send = async (event) => {
    event.preventDefault();
    if (!comment.trim()) return;
    await engine.create("ticketComments", { ticketId: id, body: comment.trim(), occurredAt: new Date().toISOString() });
    setComment("");
    syncSoon();
  };
  const save = async (event) => {
    event.preventDefault();
    await engine.update("tickets", id, { description: editing });
    setEditing(null);
    syncSoon();
  };
  const fields = [
    ["ticket.status", label(lang, "TicketStatus", tk.status)],
    ["ticket.severity", label(lang, "Severity", tk.severity)],
    ["ticket.source", label(lang, "TicketSource", tk.source)],
    ["ticket.category", label(lang, "Category", tk.category)],
    ["ticket.tier", label(lang, "Tier", tk.tier)],
    ["ticket.enterprise", data.ent?.name || "—"],
    ["ticket.grid", data.grid?.name || "—"],
    ["ticket.reportedAt", formatTime(lang, tk.reportedAt)],
    ["ticket.due", formatTime(lang, dueOf(tk))],
  ];
  return html`<main class="ticket">
    <a class="back" href="#/">‹ ${tr("ticket.back")}</a>
    <h1>${tk.title}</h1>
    <p class="num">${tk.number || tr("work.unsentMark")}</p>
    <dl class="facts">${fields.map(([k, v]) => html`<div key=${k}><dt>${tr(k)}</dt><dd data-field=${k}>${v}</dd></div>`)}</dl>
    <section>
      <h2>${tr("ticket.description")}</h2>
      ${editing == null
        ? html`<p data-testid="description">${tk.description}</p><button onClick=${() => setEditing(tk.description || "")}>${tr("ticket.edit")}</button>`
        : html`<form onSubmit=${save}><label class="sr">${tr("ticket.description")}<textarea name="description" rows="4" value=${editing} onInput=${(e) => setEditing(e.target.value)}></textarea></label>
            <div class="row"><button class="primary" type="submit">${tr("ticket.save")}</button><button type="button" onClick=${() => setEditing(null)}>${tr("ticket.cancel")}</button></div></form>`}
    </section>
    <section>
      <h2>${tr("ticket.moves")}</h2>
      ${moves.some((m) => needsNote(engine.rules, m))
        ? html`<label>${tr("ticket.note")}<textarea name="note" rows="2" placeholder=${tr("ticket.notePlaceholder")} value=${note} onInput=${(e) => setNote(e.target.value)}></textarea></label>`
        : null}
      ${problem ? html`<p class="error" role="alert">${problem}</p>` : null}
      <div class="moves" data-testid="moves">
        ${moves.length ? moves.map((m) => html`<button key=${m} class="primary" data-move=${m} onClick=${() => move(m)}>${tr(`move.${m}`)}</button>`) : html`<p class="muted">${tr("ticket.noMoves")}</p>`}
      </div>
      ${tk.status === "CLOSED" ? html`<${Rate} tk=${tk} />` : null}
      ${isOpen(engine.rules, tk.status) ? html`<${Escalate} tk=${tk} />` : null}
    </section>
    <${Photos} ticketId=${id} rev=${rev} />
    <${History} id=${id} rev=${rev} />
    <section>
      <h2>${tr("ticket.comments")}</h2>
      <ul class="comments">${data.comments.map((c) => html`<li key=${c.id}><span class="muted">${formatTime(lang, c.occurredAt)}</span> ${c.body}</li>`)}</ul>
      <form class="row" onSubmit=${send}>
        <label class="grow">${tr("ticket.addComment")}<input name="comment" placeholder=${tr("ticket.commentPlaceholder")} value=${comment} onInput=${(e) => setComment(e.target.value)} /></label>
        <button class="primary" type="submit">${tr("ticket.send")}</button>
      </form>
    </section>
  </main>`;
}

// Escalation goes up a tier and picks new handlers on the server: online only, and the
// server's answer (allowed or not, and why) is shown as it is.
function Escalate({ tk }) {
  const [reason, setReason] = useState("");
  const [answer, setAnswer] = useState(null);
  if (!navigator.onLine) return html`<p class="muted">${tr("ticket.escalateOnline")}</p>`;
  const escalate = async (event) => {
    event.preventDefault();
    if (!reason.trim()) return setAnswer(tr("ticket.reasonNeeded"));
    try {
      const data = await engine.call(
        `mutation($id: ID!, $r: String!) { escalateTicket(input: {ticketId: $id, reason: $r}) { ticket { tier } errors { message } } }`,
        { id: tk.id, r: reason.trim() },
      );
      const error = data.escalateTicket.errors[0];
      setAnswer(error ? error.message : tr("ticket.escalated", { tier: label(lang, "Tier", data.escalateTicket.ticket.tier) }));
      if (!error) setReason("");
      syncSoon(0);
    } catch (e) {
      setAnswer(e.message);
    }
  };
  return html`<form onSubmit=${escalate}>
    <label>${tr("ticket.escalateReason")}<textarea name="reason" rows="2" value=${reason} onInput=${(e) => setReason(e.target.value)}></textarea></label>
    <button type="submit">${tr("ticket.escalate")}</button>
    ${answer ? html`<p role="status">${answer}</p>` : null}
  </form>`;
}

// The audit trail is not part of the synced copy: read when online, else a note says so.
function History({ id, rev }) {
  const events = useData(async () => {
    if (!navigator.onLine) return null;
    try {
      const data = await engine.call(
        `query($id: ID!) { node(id: $id) { ... on Ticket { events { uuid kind at note after actor { name } } } } }`,
        { id: btoa(`Ticket:${id}`) },
      );
      return data.node?.events || [];
    } catch {
      return null;
    }
  }, [rev, id]);
  return html`<section><h2>${tr("ticket.history")}</h2>
    ${events == null
      ? html`<p class="muted">${tr("ticket.historyOnline")}</p>`
      : html`<ol class="comments" data-testid="history">${events.map(
          (e) => html`<li key=${e.uuid}><span class="muted">${formatTime(lang, e.at)}</span> ${label(lang, "EventKind", e.kind)}${e.after?.status ? ` → ${label(lang, "TicketStatus", e.after.status)}` : ""}${e.actor ? ` · ${e.actor.name}` : ""}${e.note ? `：${e.note}` : ""}</li>`,
        )}</ol>`}
  </section>`;
}

function Rate({ tk }) {
  const [done, setDone] = useState(null);
  if (tk.satisfactionRating) return html`<p>${tr("ticket.rated", { n: tk.satisfactionRating })}</p>`;
  if (!navigator.onLine) return html`<p class="muted">${tr("ticket.rateOnline")}</p>`;
  const rate = async (n) => {
    const data = await engine.call(`mutation($id: ID!, $r: Int!) { rateTicket(input: {ticketId: $id, rating: $r}) { errors { message } } }`, { id: tk.id, r: n });
    setDone(data.rateTicket.errors[0]?.message || tr("ticket.rated", { n }));
    syncSoon(0);
  };
  return html`<div><h3>${tr("ticket.rate")}</h3><div class="row">${[1, 2, 3, 4, 5].map((n) => html`<button key=${n} aria-label=${`${n}★`} onClick=${() => rate(n)}>${n}★</button>`)}</div>${done ? html`<p>${done}</p>` : null}</div>`;
}

// --- report ----------------------------------------------------------------------------------

function Report({ rev }) {
  const enterprises = useData(async () => (await engine.list("enterprises")).map((e) => e.data), [rev]);
  const [search, setSearch] = useState("");
  const [form, setForm] = useState({ enterpriseId: "", source: "WORKER_REQUEST", category: "WAGES", severity: "MEDIUM", title: "", description: "" });
  const [photos, setPhotos] = useState([]);
  const [message, setMessage] = useState(null);
  const set = (key) => (e) => setForm({ ...form, [key]: e.target.value });
  const q = search.trim().toLowerCase();
  const matches = (enterprises || []).filter((e) => !q || e.name.toLowerCase().includes(q) || (e.creditCode || "").toLowerCase().includes(q));
  const addPhoto = async (event) => {
    const file = event.target.files?.[0];
    if (file) setPhotos([...photos, await resizePhoto(file)]);
    event.target.value = "";
  };
  const submit = async (event) => {
    event.preventDefault();
    if (!form.title.trim()) return setMessage(tr("report.needTitle"));
    if (!form.enterpriseId) return setMessage(tr("report.pickEnterprise"));
    const ent = enterprises.find((e) => e.id === form.enterpriseId);
    const id = await engine.create("tickets", {
      title: form.title.trim(),
      description: form.description.trim(),
      source: form.source,
      category: form.category,
      severity: form.severity,
      enterpriseId: form.enterpriseId,
      gridId: ent?.gridId,
      reportedAt: new Date().toISOString(),
    });
    for (const photo of photos) await engine.attach(id, photo.bytes, photo);
    setForm({ ...form, title: "", description: "" });
    setPhotos([]);
    setMessage(tr("report.saved"));
    syncSoon();
  };
  const select = (key, type, values) => html`<label>${tr(`report.${key}`)}<select name=${key} value=${form[key]} onChange=${set(key)}>
    ${values.map((v) => html`<option key=${v} value=${v}>${label(lang, type, v)}</option>`)}</select></label>`;
  return html`<main>
    <h1>${tr("report.title")}</h1>
    <form onSubmit=${submit} class="report">
      <label>${tr("report.enterprise")}<input type="search" name="enterpriseSearch" placeholder=${tr("report.enterpriseSearch")} value=${search} onInput=${(e) => setSearch(e.target.value)} /></label>
      <label class="sr" for="enterprise">${tr("report.pickEnterprise")}</label>
      <select id="enterprise" name="enterpriseId" value=${form.enterpriseId} onChange=${set("enterpriseId")} aria-label=${tr("report.pickEnterprise")}>
        <option value="">${tr("report.pickEnterprise")}</option>
        ${matches.map((e) => html`<option key=${e.id} value=${e.id}>${e.name}</option>`)}
      </select>
      ${select("source", "TicketSource", enumValues("TicketSource"))}
      ${select("category", "Category", enumValues("Category"))}
      ${select("severity", "Severity", enumValues("Severity"))}
      <label>${tr("report.titleField")}<input name="title" value=${form.title} onInput=${set("title")} /></label>
      <label>${tr("report.description")}<textarea name="description" rows="3" value=${form.description} onInput=${set("description")}></textarea></label>
      <label class="photo-button">${tr("report.photo")}<input name="photo" type="file" accept="image/*" capture="environment" onChange=${addPhoto} /></label>
      ${photos.length ? html`<p data-testid="photo-count">${tr("report.photoAdded", { n: photos.length })}</p>` : null}
      ${message ? html`<p role="status" data-testid="report-message">${message}</p>` : null}
      <button class="primary" type="submit">${tr("report.submit")}</button>
    </form>
  </main>`;
}

// --- station activities ------------------------------------------------------------------

function Activities({ rev }) {
  const data = useData(async () => {
    const today = beijingDay();
    const [activities, attendances] = await Promise.all([engine.list("stationActivities"), engine.list("attendances")]);
    return {
      activities: activities.map((a) => a.data).filter((a) => beijingDay(a.startsAt) === today && a.status !== "CANCELLED").sort((a, b) => (a.startsAt < b.startsAt ? -1 : 1)),
      attendances: attendances.map((a) => a.data),
    };
  }, [rev]);
  const [names, setNames] = useState({});
  if (!data) return html`<main></main>`;
  const signIn = async (event, activityId) => {
    event.preventDefault();
    const name = (names[activityId] || "").trim();
    if (!name) return;
    await engine.create("attendances", { activityId, attendeeName: name, signedInAt: new Date().toISOString() });
    setNames({ ...names, [activityId]: "" });
    syncSoon();
  };
  return html`<main>
    <h1>${tr("activities.title")}</h1>
    ${data.activities.length === 0 ? html`<p class="muted">${tr("activities.empty")}</p>` : null}
    <ul class="cards">
      ${data.activities.map((a) => {
        const signed = data.attendances.filter((x) => x.activityId === a.id);
        return html`<li key=${a.id} class="card" data-activity=${a.id}>
          <div class="title">${a.title}</div>
          <div class="row muted">${label(lang, "ActivityKind", a.kind)} · ${formatTime(lang, a.startsAt)}</div>
          <p data-testid="signed" data-count=${signed.length}>${tr("activities.signed", { n: signed.length })}</p>
          <form class="row" onSubmit=${(e) => signIn(e, a.id)}>
            <label class="grow">${tr("activities.attendee")}<input name="attendee" value=${names[a.id] || ""} onInput=${(e) => setNames({ ...names, [a.id]: e.target.value })} /></label>
            <button class="primary" type="submit">${tr("activities.add")}</button>
          </form>
        </li>`;
      })}
    </ul>
  </main>`;
}

// --- inbox -----------------------------------------------------------------------------------

function Inbox({ rev }) {
  const items = useData(async () => (await engine.list("notifications")).map((n) => n.data).sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1)), [rev]);
  if (!items) return html`<main></main>`;
  const open = async (n) => {
    if (!n.readAt) {
      await engine.update("notifications", n.id, { readAt: new Date().toISOString() });
      syncSoon();
    }
    if (n.ticketId) go(`#/ticket/${n.ticketId}`);
  };
  return html`<main>
    <h1>${tr("inbox.title")}</h1>
    ${items.length === 0 ? html`<p class="muted">${tr("inbox.empty")}</p>` : null}
    <ul class="cards" data-testid="inbox">
      ${items.map((n) => html`<li key=${n.id}><button class=${n.readAt ? "card read" : "card"} onClick=${() => open(n)}>
        <div class="row"><span class="pill">${label(lang, "NotificationKind", n.kind)}</span>${n.readAt ? null : html`<b class="badge">${tr("inbox.unread")}</b>`}<span class="muted">${formatTime(lang, n.createdAt)}</span></div>
        <div class="title">${n.title}</div>
      </button></li>`)}
    </ul>
  </main>`;
}

// --- conflicts -------------------------------------------------------------------------------

function show(value) {
  if (value == null) return "—";
  if (typeof value === "string") return label(lang, "TicketStatus", value) !== value && /^[A-Z_]+$/.test(value) ? label(lang, "TicketStatus", value) : value;
  return JSON.stringify(value);
}

function Conflicts({ rev }) {
  const items = useData(async () => (await engine.list("syncConflicts")).map((c) => c.data).filter((c) => c.status === "OPEN"), [rev]);
  const [error, setError] = useState(null);
  if (!items) return html`<main></main>`;
  const resolve = async (c, choice) => {
    setError(null);
    try {
      await engine.resolveConflict(c.id, choice);
    } catch (e) {
      setError(e instanceof NetworkError ? tr("conflicts.online") : e.message);
    }
  };
  return html`<main>
    <h1>${tr("conflicts.title")}</h1>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${items.length === 0 ? html`<p class="muted" data-testid="no-conflicts">${tr("conflicts.empty")}</p>` : null}
    <ul class="cards">
      ${items.map((c) => html`<li key=${c.id} class="card" data-conflict=${c.id}>
        <div class="muted">${tr("conflicts.field", { field: tr(`field.${c.field}`) })}</div>
        <div class="sides">
          <div><h3>${tr("conflicts.mine")}</h3><p data-testid="mine">${show(c.clientValue)}</p></div>
          <div><h3>${tr("conflicts.server")}</h3><p data-testid="server">${show(c.serverValue)}</p></div>
        </div>
        <div class="row">
          <button onClick=${() => resolve(c, "KEEP_SERVER")}>${tr("conflicts.keepServer")}</button>
          <button class="primary" onClick=${() => resolve(c, "TAKE_CLIENT")}>${tr("conflicts.takeMine")}</button>
        </div>
      </li>`)}
    </ul>
  </main>`;
}

// --- settings --------------------------------------------------------------------------------

function urlBase64ToBytes(text) {
  const pad = "=".repeat((4 - (text.length % 4)) % 4);
  const raw = atob((text + pad).replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function Settings({ setLang }) {
  const [push, setPush] = useState(null);
  const me = engine.me;
  const turnOnPush = async () => {
    try {
      const { vapidPublicKey } = await engine.call("{ vapidPublicKey }");
      const registration = await navigator.serviceWorker?.ready;
      if (!vapidPublicKey || !registration?.pushManager) throw new Error("no push");
      const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: urlBase64ToBytes(vapidPublicKey) });
      const json = subscription.toJSON();
      await engine.call(
        `mutation($i: RegisterPushSubscriptionInput!) { registerPushSubscription(input: $i) { errors { message } } }`,
        { i: { endpoint: json.endpoint, p256dh: json.keys.p256dh, auth: json.keys.auth, userAgent: navigator.userAgent } },
      );
      setPush(tr("settings.pushOnDone"));
    } catch {
      setPush(tr("settings.pushUnavailable"));
    }
  };
  const signOut = async () => {
    const unsent = await engine.unsent();
    const question = unsent ? tr("settings.signOutWarn", { n: unsent }) : tr("settings.signOutConfirm");
    if (!confirm(question)) return;
    await engine.signOut();
    go("#/");
  };
  return html`<main>
    <h1>${tr("settings.title")}</h1>
    ${me ? html`<p>${tr("settings.who", { name: me.name, phone: me.phone })}</p>` : null}
    <label>${tr("settings.language")}<select name="language" value=${lang} onChange=${(e) => setLang(e.target.value)}>
      <option value="zh-CN">中文</option><option value="en">English</option></select></label>
    <section><h2>${tr("settings.push")}</h2><button onClick=${turnOnPush}>${tr("settings.pushOn")}</button>${push ? html`<p role="status">${push}</p>` : null}</section>
    <section><button class="danger" onClick=${signOut}>${tr("settings.signOut")}</button></section>
    <p class="muted">${tr("settings.version", { v: document.documentElement.dataset.version || "" })}</p>
  </main>`;
}

// --- the app ---------------------------------------------------------------------------------

function App() {
  const rev = useRevision();
  const route = useRoute();
  const [, setLangRev] = useState(0);
  const setLang = async (value) => {
    lang = pickLanguage(value);
    engine.language = lang;
    document.documentElement.lang = lang;
    await engine.setMeta({ language: lang });
    setLangRev((r) => r + 1);
  };
  if (!engine.signedIn) return html`<${Login} />`;
  const [page, arg] = route;
  let screen;
  if (page === "ticket") screen = html`<${TicketView} id=${arg} rev=${rev} />`;
  else if (page === "report") screen = html`<${Report} rev=${rev} />`;
  else if (page === "activities") screen = html`<${Activities} rev=${rev} />`;
  else if (page === "inbox") screen = html`<${Inbox} rev=${rev} />`;
  else if (page === "conflicts") screen = html`<${Conflicts} rev=${rev} />`;
  else if (page === "settings") screen = html`<${Settings} setLang=${setLang} />`;
  else screen = html`<${Work} rev=${rev} />`;
  return html`<${SyncBar} rev=${rev} /><${Notices} rev=${rev} />${screen}<${Nav} route=${route} rev=${rev} />`;
}

async function start() {
  await engine.open();
  lang = pickLanguage(engine.meta.language);
  engine.language = lang;
  document.documentElement.lang = lang;
  document.title = t(lang, "app.name");
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app", type: "module" }).catch(() => {});
    navigator.serviceWorker.addEventListener("message", async (event) => {
      if (event.data?.type === "synced") await engine.reload();
      if (event.data?.type === "open") go(event.data.hash);
    });
  }
  window.addEventListener("online", () => syncSoon(0));
  engine.addEventListener("change", (event) => {
    if (["tickets", "ticketComments", "attendances", "notifications", "ticketAttachments"].includes(event.detail.what)) syncSoon();
  });
  setInterval(() => syncSoon(0), 60000);
  const root = document.getElementById("app");
  root.textContent = "";
  render(html`<${App} />`, root);
  document.documentElement.dataset.ready = "1";
  syncSoon(0);
}

start();
