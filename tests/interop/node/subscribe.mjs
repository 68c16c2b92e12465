// graphql-ws (with the ws package) as a liaison's app uses it: subscribe to myAssignments as
// demo liaison 13800000003, and receive the assignment the admin makes with assignTicket.
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { API, graphql, report, signIn } from "./common.mjs";

const ASSIGN = `mutation($input: AssignTicketInput!) {
  assignTicket(input: $input) { errors { code message } ticket { id } } }`;

const liaison = await signIn("13800000003");
const admin = await signIn("13800000000");
const town = await signIn("13800000002");
const mine = await graphql(
  "{ tickets(first: 1, filter: {assignedToMe: true, open: true}) { nodes { id number } } }",
  {},
  liaison.token,
);
const ticket = mine.tickets.nodes[0];

const client = createClient({
  url: `${API.replace(/^http/, "ws")}/graphql`,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${liaison.token}` },
  retryAttempts: 0,
});
const events = [];
let arrived;
const first = new Promise((resolve) => (arrived = resolve));
const unsubscribe = client.subscribe(
  { query: "subscription { myAssignments { kind title ticket { id number } } }" },
  {
    next: ({ data, errors }) => {
      events.push({ data, errors });
      arrived();
    },
    error: (error) => {
      report({ error: String(error?.reason ?? error?.message ?? error) });
      process.exit(1);
    },
    complete: () => {},
  },
);

// The server starts listening asynchronously: assign (away and back) until an event arrives;
// each round is a real reassignment.
let rounds = 0;
for (; rounds < 20 && events.length === 0; rounds++) {
  for (const assignee of [town, liaison]) {
    const done = await graphql(ASSIGN, { input: { ticketId: ticket.id, assigneeId: assignee.id } }, admin.token);
    if (done.assignTicket.errors.length) throw new Error(JSON.stringify(done.assignTicket.errors));
  }
  await Promise.race([first, new Promise((resolve) => setTimeout(resolve, 500))]);
}
unsubscribe();
await client.dispose();
report({ ticket, rounds, event: events[0] ?? null });
