import assert from "node:assert/strict";
import { test } from "node:test";
import { NetworkError } from "../sync/engine.js";
import { LIAISON, OFFICER, PASSWORD, URL_, gql, login, phone } from "./support.js";

// An 8 × 8 JPEG (the server reads the image), made 40 KB by a comment segment after SOI so
// that it goes up in several pieces.
const TINY_JPEG =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDEooorjPpD/9k=";

function photoOf(size) {
  const jpeg = Buffer.from(TINY_JPEG, "base64");
  const comment = size - jpeg.length - 4;
  const out = new Uint8Array(size);
  out.set(jpeg.subarray(0, 2)); // SOI
  out.set([0xff, 0xfe, (comment + 2) >> 8, (comment + 2) & 0xff], 2); // COM segment
  for (let i = 0; i < comment; i++) out[6 + i] = 0x61 + (i % 26);
  out.set(jpeg.subarray(2), 6 + comment);
  return out;
}

const byKey = (records) =>
  Object.fromEntries(records.map((r) => [`${r.collection}/${r.id}`, r.version]));

async function everything(engine) {
  const out = [];
  for (const c of ["tickets", "enterprises", "grids", "members", "notifications", "ticketComments"]) {
    out.push(...(await engine.list(c)));
  }
  return out;
}

test("first sync in small pages holds the same copy as one big page", async () => {
  const small = await phone({ pageSize: 3 });
  const big = await phone({ pageSize: 500 });
  await small.engine.signIn(LIAISON, PASSWORD);
  await big.engine.signIn(LIAISON, PASSWORD);
  const pulledSmall = await small.engine.pull();
  await big.engine.pull();
  assert.ok(pulledSmall > 3, "the liaison's scope spans several pages of 3");
  assert.deepEqual(byKey(await everything(small.engine)), byKey(await everything(big.engine)));
  assert.ok(small.engine.meta.checkpoint, "the checkpoint is stored");
  // Nothing changed since: a pull from the stored checkpoint brings nothing.
  assert.equal(await small.engine.pull(), 0);
  const tickets = await small.engine.list("tickets");
  assert.ok(tickets.length > 0);
  assert.ok(small.engine.rules.transitions.REPORTED.includes("IN_PROGRESS"));
});

test("offline work waits in the outbox; a dropped answer is replayed without doubles", async () => {
  const { engine, net } = await phone();
  await engine.signIn(LIAISON, PASSWORD);
  await engine.sync();
  const [grid] = await engine.list("grids");
  net.offline = true;
  const title = `Offline report ${Date.now()}`;
  const ticketId = await engine.create("tickets", {
    title,
    source: "WORKER_REQUEST",
    gridId: grid.id,
    description: "written with no network",
    reportedAt: new Date().toISOString(),
  });
  await engine.create("ticketComments", {
    ticketId,
    body: "first remark",
    occurredAt: new Date().toISOString(),
  });
  await assert.rejects(engine.sync(), NetworkError);
  assert.equal(await engine.unsent(), 2, "both changes kept");
  assert.equal((await engine.get("tickets", ticketId)).data.title, title);

  net.offline = false;
  net.dropNextAnswer = true;
  await assert.rejects(engine.push(), NetworkError);
  const waiting = await engine.outbox();
  assert.equal(waiting.length, 2, "the answer was lost: the outbox is as it was");
  const results = await engine.push();
  assert.deepEqual(
    results.map((r) => r.status),
    ["APPLIED", "APPLIED"],
  );
  assert.equal(await engine.unsent(), 0);
  const local = await engine.get("tickets", ticketId);
  assert.match(local.data.number, /^SY-\d{4}-\d{6}$/, "the server's number came back");

  const token = await login(OFFICER);
  const found = await gql(token, `query($s: String) { tickets(filter: {search: $s}) { totalCount } }`, {
    s: title,
  });
  assert.equal(found.tickets.totalCount, 1, "the replay wrote nothing twice");
});

test("a field changed on both sides comes back as a conflict that can be resolved", async () => {
  const { engine, net } = await phone();
  await engine.signIn(LIAISON, PASSWORD);
  await engine.sync();
  const me = engine.me.uuid;
  const mine = (await engine.list("tickets")).find((t) => t.data.assigneeId === me);
  assert.ok(mine, "the demo liaison has a ticket assigned");
  net.offline = true;
  await engine.update("tickets", mine.id, { description: "phone's words" });

  const token = await login(OFFICER);
  const update = await gql(
    token,
    `mutation($id: ID!) { updateTicket(input: {id: $id, description: "office's words"}) { errors { code } } }`,
    { id: mine.id },
  );
  assert.deepEqual(update.updateTicket.errors, []);

  net.offline = false;
  const { pushed } = await engine.sync();
  assert.equal(pushed, 1);
  const [notice] = (await engine.notices()).filter((n) => n.id === mine.id);
  assert.equal(notice.status, "CONFLICT");
  const conflicts = (await engine.list("syncConflicts")).filter(
    (c) => c.data.recordId === mine.id && c.data.status === "OPEN",
  );
  assert.equal(conflicts.length, 1, "the conflict arrived with the pull");
  const [conflict] = conflicts;
  assert.equal(conflict.data.field, "description");
  assert.equal(conflict.data.clientValue, "phone's words");
  assert.equal(conflict.data.serverValue, "office's words");
  assert.equal((await engine.get("tickets", mine.id)).data.description, "office's words");

  await engine.resolveConflict(conflict.id, "TAKE_CLIENT");
  assert.equal((await engine.get("syncConflicts", conflict.id)).data.status, "RESOLVED");
  assert.equal((await engine.get("tickets", mine.id)).data.description, "phone's words");
});

test("a changed scope asks for a reset: the outbox goes first, then the copy is pulled anew", async () => {
  const { engine, net } = await phone();
  await engine.signIn(LIAISON, PASSWORD);
  await engine.sync();
  const before = (await engine.list("enterprises")).length;
  const me = engine.me.uuid;
  const mine = (await engine.list("tickets")).find((t) => t.data.assigneeId === me);
  net.offline = true;
  const commentId = await engine.create("ticketComments", {
    ticketId: mine.id,
    body: "said before the reset",
    occurredAt: new Date().toISOString(),
  });
  net.offline = false;

  // The office gives the liaison a second grid: the checkpoint was made for another scope.
  const token = await login(OFFICER);
  const grids = await gql(token, `{ grids(first: 100, filter: {kind: JOINT}) { nodes { uuid code } } }`);
  const ownGrids = engine.rules.caller.gridIds;
  const other = grids.grids.nodes.find((g) => !ownGrids.includes(g.uuid));
  const changed = await gql(
    token,
    `mutation($id: ID!, $g: [ID!]) { updateMember(input: {id: $id, gridIds: $g}) { errors { code message } } }`,
    { id: me, g: [...ownGrids, other.uuid] },
  );
  assert.deepEqual(changed.updateMember.errors, []);
  try {
    await engine.pull();
    assert.equal(engine.resets, 1, "the server asked for a reset");
    assert.equal(await engine.unsent(), 0, "the outbox was pushed before the copy was dropped");
    assert.ok((await engine.get("ticketComments", commentId)) !== undefined);
    assert.ok((await engine.list("enterprises")).length >= before);
  } finally {
    await gql(token, `mutation($id: ID!, $g: [ID!]) { updateMember(input: {id: $id, gridIds: $g}) { errors { code } } }`, {
      id: me,
      g: ownGrids,
    });
  }
});

test("sign-out wipes the device and a new clientId is chosen", async () => {
  const { engine } = await phone();
  await engine.signIn(LIAISON, PASSWORD);
  await engine.sync();
  const clientId = engine.meta.clientId;
  await engine.signOut();
  assert.equal(engine.signedIn, false);
  assert.equal((await engine.list("tickets")).length, 0);
  assert.notEqual(engine.meta.clientId, clientId);
});

// WAITING: the attachments of the sync round-2 issue are being merged; until this server
// takes them the upload test is skipped (and says so).
const unknownFile = await fetch(`${URL_}/attachments/00000000-0000-4000-8000-000000000000`);
const attachmentsServed = (unknownFile.headers.get("content-type") || "").startsWith("application/json");

test("a photo goes up after its record, and resumes where the server stopped", {
  skip: !attachmentsServed && "WAITING: this server does not take attachments yet",
}, async () => {
  const { engine, net } = await phone();
  await engine.signIn(LIAISON, PASSWORD);
  await engine.sync();
  const me = engine.me.uuid;
  const mine = (await engine.list("tickets")).find((t) => t.data.assigneeId === me);
  const jpeg = photoOf(40 * 1024);
  net.offline = true;
  const id = await engine.attach(mine.id, jpeg.buffer, { contentType: "image/jpeg" });
  assert.equal(await engine.unsent(), 1);
  net.offline = false;

  await engine.push();
  net.dropAfterPuts = 2; // two pieces arrive, then the connection drops
  await assert.rejects(engine.upload({ chunk: 8 * 1024 }), NetworkError);
  assert.equal((await engine.files(mine.id))[0].uploaded, false);
  const head = await fetch(`${engine.baseUrl}/attachments/${id}`, {
    method: "HEAD",
    headers: { Authorization: `Bearer ${engine.meta.token}` },
  });
  assert.equal(head.headers.get("Upload-Offset"), String(16 * 1024), "two pieces kept");

  const putsBefore = net.puts;
  assert.equal(await engine.upload({ chunk: 8 * 1024 }), 1);
  assert.equal(net.puts - putsBefore, 3, "only the missing three pieces were sent");
  await engine.pull();
  const record = await engine.get("ticketAttachments", id);
  assert.equal(record.data.uploaded, true);
  assert.equal((await engine.files(mine.id))[0].uploaded, true);
});
