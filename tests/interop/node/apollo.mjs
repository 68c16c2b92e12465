// Apollo Client with its persisted-query link and useGETForHashedQueries: a query by hash
// (miss, then registered with its text, then a hit by hash alone from a fresh client) and a
// mutation. The bearer token is sent throughout: only signed-in callers register queries.
import { createHash } from "node:crypto";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { API, report, signIn } from "./common.mjs";

const liaison = await signIn("13800000003");
const requests = [];

async function recordingFetch(url, init = {}) {
  const response = await fetch(url, init);
  const body = await response.clone().json();
  requests.push({
    method: init.method ?? "GET",
    sentQuery: init.method === "POST" ? "query" in JSON.parse(init.body) : new URL(url).searchParams.has("query"),
    status: response.status,
    codes: (body.errors ?? []).map((error) => error.extensions?.code),
  });
  return response;
}

function newClient() {
  const persisted = new PersistedQueryLink({
    sha256: (text) => createHash("sha256").update(text).digest("hex"),
    useGETForHashedQueries: true,
  });
  const http = new HttpLink({
    uri: `${API}/graphql`,
    fetch: recordingFetch,
    headers: { authorization: `Bearer ${liaison.token}` },
  });
  return new ApolloClient({ link: ApolloLink.from([persisted, http]), cache: new InMemoryCache() });
}

// A document of its own per run, so that the first request is a miss on any server.
const marker = `run${Date.now()}`;
const QUERY = gql`
  query MyOpenTickets_${marker} {
    tickets(first: 5, filter: { open: true, assignedToMe: true }) {
      totalCount
      nodes { id number title status }
    }
  }
`;
const first = await newClient().query({ query: QUERY, fetchPolicy: "network-only" });
const afterFirst = requests.length;
const second = await newClient().query({ query: QUERY, fetchPolicy: "network-only" });

const ticket = first.data.tickets.nodes[0];
const COMMENT = gql`
  mutation Comment_${marker}($input: AddTicketCommentInput!) {
    addTicketComment(input: $input) { errors { code message } comment { id body } }
  }
`;
const mutation = await newClient().mutate({
  mutation: COMMENT,
  variables: { input: { ticketId: ticket.id, body: `Apollo Client ${marker}` } },
});
report({
  firstRequests: requests.slice(0, afterFirst),
  secondRequests: requests.slice(afterFirst, requests.length - 2),
  mutationRequests: requests.slice(-2),
  first: first.data,
  second: second.data,
  mutation: mutation.data,
});
