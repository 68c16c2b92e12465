// Shared by the Node interop scripts: the server's URL and a demo sign-in over plain fetch.
export const API = process.env.GRIDLINK_URL;
export const PASSWORD = "gridlink-demo";

export async function graphql(query, variables = {}, token = undefined) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${API}/graphql`, {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

export async function signIn(phone) {
  const data = await graphql(
    "mutation($phone: String!, $password: String!) { login(phone: $phone, password: $password) { token errors { code } } }",
    { phone, password: PASSWORD },
  );
  if (!data.login.token) throw new Error(`sign-in of ${phone}: ${JSON.stringify(data.login.errors)}`);
  const me = await graphql("{ me { id } }", {}, data.login.token);
  return { token: data.login.token, id: me.me.id };
}

export function report(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
