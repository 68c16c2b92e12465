// A third-party web frontend on its own origin: `fetch` to the API and a graphql-ws
// subscription to myAssignments, as the docs tell frontend authors. ?api= and ?token= say
// where and as whom; the outcome is left in window.outcome and window.events for the test.
const params = new URLSearchParams(location.search);
const api = params.get("api");
const token = params.get("token");
window.events = [];
window.outcome = (async () => {
  const outcome = {};
  try {
    const response = await fetch(`${api}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ me { id } }" }),
    });
    outcome.fetch = { status: response.status, body: await response.json() };
  } catch (error) {
    outcome.fetch = { error: String(error) };
  }
  outcome.socket = await new Promise((resolve) => {
    const client = graphqlWs.createClient({
      url: `${api.replace(/^http/, "ws")}/graphql`,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      on: {
        connected: () => resolve({ connected: true }),
        closed: (event) => resolve({ closed: event.code }),
      },
    });
    client.subscribe(
      { query: "subscription { myAssignments { kind ticket { id } } }" },
      {
        next: (message) => window.events.push(message),
        error: (error) => window.events.push({ error: String(error?.code ?? error) }),
        complete: () => {},
      },
    );
  });
  document.getElementById("log").textContent = JSON.stringify(outcome, null, 2);
  return outcome;
})();
