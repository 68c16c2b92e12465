import assert from "node:assert/strict";
import { test } from "node:test";
import { NetworkError } from "../sync/engine.js";
import { LIAISON, OFFICER, PASSWORD, gql, login, phone } from "./support.js";

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
