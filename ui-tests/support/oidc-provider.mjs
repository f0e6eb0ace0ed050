// A small OpenID Connect provider for the stories of "sign in with OIDC":
// discovery, a JWKS, a sign-in page and a token endpoint, on 127.0.0.1, for
// the authorization code flow with PKCE (S256) and one confidential client.
//
//   const provider = await startOidcProvider({
//     clientId: 'ferry',
//     clientSecret: 'a secret',
//     users: { alice: { email: 'alice@example.com', name: 'Alice', groups: ['ops'] } },
//   });
//   t.after(provider.close);
//   // point ferry at provider.issuer; the browser signs in as `alice` on its page
//   assert.ok(provider.requests.some((r) => r.method === 'POST' && r.path === '/token'));
//
// It checks what a strict provider checks, so that a mistake of ferry's
// (a missing nonce, a wrong verifier, a code used twice) fails a test rather
// than passing here and failing against a real provider. The username
// `refuse` makes it answer `error=access_denied`, as when a user declines.
// It uses nothing but Node's built-ins; its keys live as long as it does.

import crypto from 'node:crypto';
import http from 'node:http';
import { URL, URLSearchParams } from 'node:url';

/** How long an authorization code may be redeemed after it is issued. */
export const CODE_LIFETIME_MS = 60_000;

/** How long the ID and access tokens are valid, in seconds. */
export const TOKEN_LIFETIME_S = 300;

/** The username that makes the provider answer `access_denied`. */
export const REFUSING_USER = 'refuse';

/** The parameters of an authorization request, in the sign-in form's order. */
const AUTHORIZE_PARAMS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
];

/** The largest form body read; the forms here are a few hundred bytes. */
const MAX_BODY_BYTES = 64 * 1024;

// RFC 7636 §4.1: a verifier (and an S256 challenge, which is 43 of these)
// is 43 to 128 unreserved characters. A padded or plain base64 challenge is
// a client's bug, refused here so that the test shows it.
const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

/** `text` made safe in HTML text and in double-quoted attribute values. */
function escapeHtml(text) {
  return String(text)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** `data` (a string, a buffer or a JSON value) in unpadded base64url. */
function base64url(data) {
  if (typeof data === 'string' || Buffer.isBuffer(data)) return Buffer.from(data).toString('base64url');
  return Buffer.from(JSON.stringify(data)).toString('base64url');
}

/** Whether two strings are equal, compared in constant time (through their hashes, of equal length). */
function sameSecret(a, b) {
  const hash = (text) => crypto.createHash('sha256').update(text).digest();
  return crypto.timingSafeEqual(hash(a), hash(b));
}

/** A compact JWS of `claims`, signed RS256 with `privateKey` and naming `kid`. */
function signJwt(claims, { privateKey, kid }) {
  const input = `${base64url({ alg: 'RS256', typ: 'JWT', kid })}.${base64url(claims)}`;
  // An RSA key signs with PKCS #1 v1.5 by default: SHA-256 with it is RS256.
  const signature = crypto.sign('sha256', Buffer.from(input), privateKey);
  return `${input}.${base64url(signature)}`;
}

/**
 * Reads a form-encoded request body (at most 64 KiB) as URLSearchParams;
 * answers null when the body is not `application/x-www-form-urlencoded`.
 */
async function readForm(request) {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const chunks = [];
  let size = 0;
  for await (const chunk of request) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw Object.assign(new Error('the body is too large'), { status: 413 });
    chunks.push(chunk);
  }
  if (type !== 'application/x-www-form-urlencoded') return null;
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * The single value of each name in `params` (a URLSearchParams) as an
 * object, and the names given more than once, which RFC 6749 §3.1 forbids
 * for every parameter of a request.
 */
function singleValues(params) {
  const values = {};
  const repeated = [];
  for (const name of new Set(params.keys())) {
    const all = params.getAll(name);
    if (all.length > 1) repeated.push(name);
    values[name] = all[0];
  }
  return { values, repeated };
}

/**
 * What is wrong with an authorization request (its parameters as an object):
 * one sentence per problem, none when it is good. Each one is checked,
 * because a client that leaves out `nonce` or `state` works against a lax
 * provider and is open to replay and CSRF against any.
 */
function authorizeProblems(values, repeated, clientId) {
  const problems = repeated.map((name) => `${name} is given more than once`);
  const missing = (name) => values[name] === undefined || values[name] === '';
  for (const name of AUTHORIZE_PARAMS) {
    if (missing(name)) problems.push(`${name} is missing`);
  }
  if (!missing('client_id') && values.client_id !== clientId) {
    problems.push(`client_id ${values.client_id} is not a known client`);
  }
  if (!missing('response_type') && values.response_type !== 'code') {
    problems.push(`response_type must be code, not ${values.response_type}`);
  }
  if (!missing('scope') && !values.scope.split(' ').includes('openid')) {
    problems.push(`scope must contain openid, it is "${values.scope}"`);
  }
  if (!missing('code_challenge_method') && values.code_challenge_method !== 'S256') {
    problems.push(`code_challenge_method must be S256, not ${values.code_challenge_method}`);
  }
  if (!missing('code_challenge') && !PKCE_VALUE.test(values.code_challenge)) {
    problems.push('code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (unpadded base64url)');
  }
  if (!missing('redirect_uri')) {
    let uri = null;
    try {
      uri = new URL(values.redirect_uri);
    } catch {
      // Not an absolute URL: said below.
    }
    if (uri === null || (uri.protocol !== 'http:' && uri.protocol !== 'https:')) {
      problems.push(`redirect_uri must be an absolute http(s) URL, not "${values.redirect_uri}"`);
    } else if (values.redirect_uri.includes('#')) {
      // RFC 6749 §3.1.2: the endpoint URI must not include a fragment.
      problems.push('redirect_uri must not have a fragment');
    }
  }
  return problems;
}

/**
 * `redirectUri` with `params` added to its query. The URI is kept as the
 * client sent it (re-encoding its own query through URL would change bytes
 * the client may compare), and `&` joins an existing query.
 */
function withQuery(redirectUri, params) {
  const query = new URLSearchParams(params).toString();
  if (!redirectUri.includes('?')) return `${redirectUri}?${query}`;
  return redirectUri.endsWith('?') || redirectUri.endsWith('&') ? redirectUri + query : `${redirectUri}&${query}`;
}

/**
 * A whole HTML document: English, responsive, light and dark. The empty icon
 * keeps Chromium from asking for /favicon.ico, a 404 in `requests`.
 */
function htmlPage(title, body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; padding: 2rem 1rem; }
  main { max-width: 24rem; margin: 0 auto; }
  label, input, button { display: block; font: inherit; }
  input { width: 100%; box-sizing: border-box; margin: 0.25rem 0 1rem; padding: 0.5rem; }
  button { padding: 0.5rem 1rem; }
  [role="alert"] { border: 2px solid #b00020; padding: 0.5rem; }
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** The sign-in page for a checked authorization request, with an error when one is given. */
function signInPage(values, error) {
  const hidden = AUTHORIZE_PARAMS.map(
    (name) => `  <input type="hidden" name="${name}" value="${escapeHtml(values[name])}">`,
  ).join('\n');
  const alert = error ? `<p role="alert">${escapeHtml(error)}</p>\n` : '';
  return htmlPage(
    'Sign in – Test provider',
    `<h1>Test provider</h1>
${alert}<form method="post" action="/authorize">
${hidden}
  <label for="username">Username</label>
  <input id="username" name="username" type="text" autocomplete="username" required autofocus>
  <button type="submit">Sign in</button>
</form>`,
  );
}

/** The page of a refused authorization request, listing what is wrong. */
function badRequestPage(problems) {
  const items = problems.map((problem) => `  <li>${escapeHtml(problem)}</li>`).join('\n');
  return htmlPage(
    'Bad request – Test provider',
    `<h1>Test provider</h1>
<p role="alert">This sign-in request is refused:</p>
<ul>
${items}
</ul>`,
  );
}

/** Sends `body` with `status` and `headers`, and no caching. */
function send(response, status, headers, body) {
  response.writeHead(status, { 'Cache-Control': 'no-store', ...headers });
  response.end(body);
}

const sendHtml = (response, status, html) =>
  send(response, status, { 'Content-Type': 'text/html; charset=utf-8' }, html);

const sendJson = (response, status, value, headers = {}) =>
  send(response, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));

/** A token endpoint error (RFC 6749 §5.2) as an exception, answered by the handler. */
class TokenError extends Error {
  constructor(error, description, status = 400) {
    super(description);
    this.error = error;
    this.status = status;
  }
}

/** Form-decodes one part of HTTP Basic credentials (RFC 6749 §2.3.1: `+` is a space). */
function formDecode(text) {
  return decodeURIComponent(text.replaceAll('+', ' '));
}

/**
 * The client's credentials of a token request, { id, secret }, from HTTP
 * Basic or from the body; throws a TokenError when both are used (RFC 6749
 * §2.3 allows one method), when the header cannot be read, or when neither
 * is given.
 */
function clientCredentials(request, values) {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const [scheme, encoded = ''] = header.trim().split(/\s+/, 2);
    if (scheme.toLowerCase() !== 'basic') {
      throw new TokenError('invalid_client', `unsupported authentication scheme ${scheme}`, 401);
    }
    if (values.client_secret !== undefined) {
      throw new TokenError('invalid_request', 'the client authenticates with both HTTP Basic and client_secret');
    }
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new TokenError('invalid_client', 'the Basic credentials have no colon', 401);
    let id;
    let secret;
    try {
      id = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
    } catch {
      throw new TokenError('invalid_client', 'the Basic credentials are not form-urlencoded', 401);
    }
    // A client may repeat its id in the body; it must then be the same one.
    if (values.client_id !== undefined && values.client_id !== id) {
      throw new TokenError('invalid_request', 'client_id in the body differs from the Basic credentials');
    }
    return { id, secret };
  }
  if (values.client_id === undefined || values.client_secret === undefined) {
    throw new TokenError('invalid_client', 'no client authentication (HTTP Basic or client_id and client_secret)', 401);
  }
  return { id: values.client_id, secret: values.client_secret };
}

/**
 * Starts the provider on a free port of 127.0.0.1. `users` maps each
 * username to { email, name, groups }; the ID token's `sub` is
 * `user-<username>`. Answers { issuer, close, requests }: `requests` grows
 * with { method, path } (the path without its query) of every request, in
 * order; `close()` stops the server and may be called more than once.
 */
export async function startOidcProvider({ clientId, clientSecret, users = {} }) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `test-${crypto.randomBytes(8).toString('hex')}`;
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };

  const requests = [];
  // Issued codes by value: { clientId, redirectUri, nonce, codeChallenge,
  // username, expiresAt, used }. Used ones stay, so that a second use is told
  // apart from an unknown code.
  const codes = new Map();
  let issuer = '';

  /** The discovery document (OpenID Connect Discovery 1.0 §3). */
  function configuration() {
    return {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      grant_types_supported: ['authorization_code'],
      scopes_supported: ['openid', 'profile', 'email', 'groups'],
      claims_supported: ['iss', 'sub', 'aud', 'iat', 'exp', 'nonce', 'preferred_username', 'email', 'name', 'groups'],
    };
  }

  /** GET /authorize: the sign-in page, or a 400 page saying what is wrong. */
  function authorizePage(response, params) {
    const { values, repeated } = singleValues(params);
    const problems = authorizeProblems(values, repeated, clientId);
    if (problems.length > 0) return sendHtml(response, 400, badRequestPage(problems));
    return sendHtml(response, 200, signInPage(values));
  }

  /**
   * POST /authorize: the sign-in form. The request is checked again (the
   * hidden inputs came back through the browser); a known user is sent back
   * to the client with a one-time code, `refuse` with access_denied.
   */
  async function authorizeSubmit(request, response) {
    const form = await readForm(request);
    if (form === null) return sendHtml(response, 400, badRequestPage(['the form is not form-urlencoded']));
    const { values, repeated } = singleValues(form);
    const problems = authorizeProblems(values, repeated, clientId);
    if (problems.length > 0) return sendHtml(response, 400, badRequestPage(problems));

    const username = values.username ?? '';
    if (username === REFUSING_USER) {
      const location = withQuery(values.redirect_uri, {
        error: 'access_denied',
        error_description: 'The user refused',
        state: values.state,
      });
      return send(response, 302, { Location: location }, '');
    }
    // Own keys only: `constructor` or `__proto__` is no user.
    if (!Object.hasOwn(users, username)) {
      return sendHtml(response, 401, signInPage(values, `There is no user "${username}" here.`));
    }
    const code = crypto.randomBytes(32).toString('base64url');
    codes.set(code, {
      clientId: values.client_id,
      redirectUri: values.redirect_uri,
      nonce: values.nonce,
      codeChallenge: values.code_challenge,
      username,
      expiresAt: Date.now() + CODE_LIFETIME_MS,
      used: false,
    });
    const location = withQuery(values.redirect_uri, { code, state: values.state });
    return send(response, 302, { Location: location }, '');
  }

  /**
   * POST /token: redeems a code for an ID token (RFC 6749 §4.1.3, RFC 7636
   * §4.6). Throws a TokenError for each thing a client may get wrong.
   */
  async function token(request) {
    const form = await readForm(request);
    if (form === null) throw new TokenError('invalid_request', 'the body must be application/x-www-form-urlencoded');
    const { values, repeated } = singleValues(form);
    if (repeated.length > 0) throw new TokenError('invalid_request', `${repeated.join(', ')} given more than once`);

    const client = clientCredentials(request, values);
    if (client.id !== clientId || !sameSecret(client.secret, clientSecret)) {
      throw new TokenError('invalid_client', 'unknown client or wrong secret', 401);
    }

    if (values.grant_type === undefined) throw new TokenError('invalid_request', 'grant_type is missing');
    if (values.grant_type !== 'authorization_code') {
      throw new TokenError('unsupported_grant_type', `grant_type ${values.grant_type} is not supported`);
    }
    for (const name of ['code', 'redirect_uri', 'code_verifier']) {
      if (!values[name]) throw new TokenError('invalid_request', `${name} is missing`);
    }

    const grant = codes.get(values.code);
    if (grant === undefined) throw new TokenError('invalid_grant', 'unknown code');
    if (grant.used) throw new TokenError('invalid_grant', 'the code was already used');
    // Any attempt spends the code, as at a real provider: a code is never
    // worth a second guess at its verifier or redirect_uri.
    grant.used = true;
    if (Date.now() > grant.expiresAt) throw new TokenError('invalid_grant', 'the code has expired');
    if (grant.clientId !== client.id) throw new TokenError('invalid_grant', 'the code was issued to another client');
    if (grant.redirectUri !== values.redirect_uri) {
      throw new TokenError('invalid_grant', 'redirect_uri differs from the authorization request\'s');
    }
    if (!PKCE_VALUE.test(values.code_verifier)) {
      throw new TokenError('invalid_request', 'code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~');
    }
    const challenge = crypto.createHash('sha256').update(values.code_verifier).digest('base64url');
    if (challenge !== grant.codeChallenge) {
      throw new TokenError('invalid_grant', 'code_verifier does not match code_challenge');
    }

    const user = users[grant.username];
    const now = Math.floor(Date.now() / 1000);
    const idToken = signJwt(
      {
        iss: issuer,
        sub: `user-${grant.username}`,
        aud: client.id,
        iat: now,
        exp: now + TOKEN_LIFETIME_S,
        nonce: grant.nonce,
        preferred_username: grant.username,
        email: user.email,
        name: user.name,
        groups: user.groups ?? [],
      },
      { privateKey, kid },
    );
    return {
      access_token: crypto.randomBytes(32).toString('base64url'),
      token_type: 'Bearer',
      expires_in: TOKEN_LIFETIME_S,
      id_token: idToken,
    };
  }

  /** Routes one request; anything unknown is a 404. */
  async function handle(request, response) {
    // Read as a path on this host, so that `//other/jwks` is no /jwks.
    const url = new URL(`${issuer}${request.url}`);
    requests.push({ method: request.method, path: url.pathname });
    const route = `${request.method} ${url.pathname}`;
    if (route === 'GET /.well-known/openid-configuration') return sendJson(response, 200, configuration());
    if (route === 'GET /jwks') return sendJson(response, 200, { keys: [jwk] });
    if (route === 'GET /authorize') return authorizePage(response, url.searchParams);
    if (route === 'POST /authorize') return authorizeSubmit(request, response);
    if (route === 'POST /token') {
      try {
        return sendJson(response, 200, await token(request), { Pragma: 'no-cache' });
      } catch (error) {
        if (!(error instanceof TokenError)) throw error;
        // RFC 6749 §5.2: a failed client authentication is a 401 with a challenge.
        const challenge = error.status === 401 ? { 'WWW-Authenticate': 'Basic realm="token"' } : {};
        return sendJson(response, error.status, { error: error.error, error_description: error.message }, challenge);
      }
    }
    return send(response, 404, { 'Content-Type': 'text/plain; charset=utf-8' }, `no ${route} here\n`);
  }

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error) => {
      // A bug here must show in the test, not hang the browser.
      if (response.headersSent) return response.destroy(error);
      send(response, error.status ?? 500, { 'Content-Type': 'text/plain; charset=utf-8' }, `${error.message}\n`);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  issuer = `http://127.0.0.1:${server.address().port}`;

  let closing = null;
  /** Stops the server. Open keep-alive connections (a browser's, fetch's) are cut, or it would wait for them. */
  function close() {
    closing ??= new Promise((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    });
    return closing;
  }

  return { issuer, close, requests };
}
