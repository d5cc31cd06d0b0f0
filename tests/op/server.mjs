// Local OpenID Provider for pingcli's tests and `make demo` (oidc-provider, in memory).
//
// Prints exactly one line to stdout once listening: `OP READY <issuer>`.
// Everything else (notices, errors) goes to stderr. See README.md for the knobs.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { promisify } from 'node:util';

// oidc-provider prints its notices with console.info (stdout) and warns on Node 20:
// keep stdout for the ready line only, and keep stderr quiet unless OP_VERBOSE is set.
const verbose = ['1', 'true', 'yes'].includes((process.env.OP_VERBOSE || '').toLowerCase());
const toStderr = (...args) => {
  const text = args.map((a) => (typeof a === 'string' ? a : String(a?.stack || a))).join(' ');
  if (!verbose && /^oidc-provider (NOTICE|WARNING)/.test(text)) return;
  process.stderr.write(`${text}\n`);
};
console.log = toStderr;
console.info = toStderr;
console.warn = toStderr;
console.debug = verbose ? toStderr : () => {};

const { default: Provider, errors } = await import('oidc-provider');

// ---------------------------------------------------------------------------
// Settings from the environment
// ---------------------------------------------------------------------------

function envInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const PORT = envInt('OP_PORT', 0);
const TTL = {
  access: envInt('OP_TTL_ACCESS', 3600),
  id: envInt('OP_TTL_ID', 3600),
  refresh: envInt('OP_TTL_REFRESH', 86400),
  device: envInt('OP_TTL_DEVICE', 600),
  authcode: envInt('OP_TTL_AUTHCODE', 60),
};
const CLOCK_TOLERANCE = envInt('OP_CLOCK_TOLERANCE', 15);
const DEVICE_INTERVAL = process.env.OP_DEVICE_INTERVAL ? envInt('OP_DEVICE_INTERVAL', 5) : undefined;
const LOG_REQUESTS = process.env.OP_LOG_REQUESTS || '';
const AUTO_CONSENT = !['0', 'false', 'no'].includes((process.env.OP_AUTO_CONSENT || '1').toLowerCase());

const ACR_PWD = 'urn:pingcli:acr:pwd';
const ACR_MFA = 'urn:pingcli:acr:mfa';

// ---------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------

const USERS = {
  demo: {
    password: 'demo-password',
    claims: {
      name: 'Demo User',
      given_name: 'Demo',
      family_name: 'User',
      preferred_username: 'demo',
      email: 'demo@example.test',
      email_verified: true,
    },
  },
  alice: {
    password: 'alice-password',
    claims: {
      name: 'Alice Example',
      given_name: 'Alice',
      family_name: 'Example',
      preferred_username: 'alice',
      email: 'alice@example.test',
      email_verified: true,
    },
  },
  mfa: {
    password: 'mfa-password',
    otp: '123456',
    claims: {
      name: 'Mia Factor',
      given_name: 'Mia',
      family_name: 'Factor',
      preferred_username: 'mfa',
      email: 'mfa@example.test',
      email_verified: true,
    },
  },
};

function sameSecret(given, expected) {
  const a = crypto.createHash('sha256').update(String(given)).digest();
  const b = crypto.createHash('sha256').update(String(expected)).digest();
  return crypto.timingSafeEqual(a, b);
}

async function findAccount(ctx, sub) {
  const user = USERS[sub];
  if (!user) return undefined;
  return {
    accountId: sub,
    async claims() {
      return { sub, ...user.claims };
    },
  };
}

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

const LOOPBACK_REDIRECTS = [
  'http://127.0.0.1/callback',
  'http://localhost/callback',
  'http://[::1]/callback',
];
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

const clients = [
  {
    client_id: 'cli-public',
    client_name: 'pingcli',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
    response_types: ['code'],
    redirect_uris: LOOPBACK_REDIRECTS,
    post_logout_redirect_uris: LOOPBACK_REDIRECTS,
  },
  {
    client_id: 'cli-confidential',
    client_secret: 'cli-confidential-secret',
    client_name: 'pingcli (confidential)',
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token', DEVICE_GRANT],
    response_types: ['code'],
    redirect_uris: LOOPBACK_REDIRECTS,
    post_logout_redirect_uris: LOOPBACK_REDIRECTS,
  },
];

if (process.env.OP_EXTRA_CLIENTS) {
  const extra = JSON.parse(process.env.OP_EXTRA_CLIENTS);
  if (!Array.isArray(extra)) throw new Error('OP_EXTRA_CLIENTS must be a JSON array of client metadata objects');
  clients.push(...extra);
}

// ---------------------------------------------------------------------------
// HTML (self-contained: no external fonts, scripts or images)
// ---------------------------------------------------------------------------

const esc = (value) => String(value ?? '')
  .replaceAll('&', '&amp;')
  .replaceAll('<', '&lt;')
  .replaceAll('>', '&gt;')
  .replaceAll('"', '&quot;')
  .replaceAll("'", '&#39;');

const STYLE = 'body{font-family:system-ui,sans-serif;margin:2em auto;max-width:26em;padding:0 1em;color:#222}'
  + 'h1{font-weight:400;font-size:1.6em}label{display:block;margin:.6em 0 .2em}'
  + 'input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.4em;font-size:1em}'
  + 'button{margin-top:1em;padding:.5em 1.2em;font-size:1em}.error{color:#b00020}.muted{color:#666}'
  + 'code{font-size:1.4em}';

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function loginPage({ uid, client, params, error, login }) {
  const clientName = client?.clientName || params.client_id;
  const mfaAsked = requiresMfa(params);
  return page('Sign in', `<h1>Sign in</h1>
<p class="muted">to continue to <strong id="client">${esc(clientName)}</strong></p>
${error ? `<p class="error" id="error" role="alert">${esc(error)}</p>` : ''}
${mfaAsked ? '<p id="mfa-required">This request requires a one-time code.</p>' : ''}
<form id="login-form" method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<label for="login">Username</label>
<input type="text" id="login" name="login" value="${esc(login)}" autofocus required>
<label for="password">Password</label>
<input type="password" id="password" name="password" required>
<label for="otp">One-time code (if you have one)</label>
<input type="text" id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code">
<button type="submit" id="submit">Sign in</button>
</form>
<p><a id="abort" href="/interaction/${esc(uid)}/abort">Cancel</a></p>
`);
}

function consentPage({ uid, client, params, details }) {
  const clientName = client?.clientName || params.client_id;
  const scopes = [...new Set([
    ...(details.missingOIDCScope || []),
    ...Object.values(details.missingResourceScopes || {}).flat(),
  ])];
  const claims = details.missingOIDCClaims || [];
  return page('Authorize', `<h1>Authorize</h1>
<p><strong id="client">${esc(clientName)}</strong> asks for:</p>
<ul id="scopes">${scopes.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>
${claims.length ? `<p>Claims:</p><ul id="claims">${claims.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>` : ''}
<form id="consent-form" method="post" action="/interaction/${esc(uid)}/confirm">
<button type="submit" id="allow">Allow</button>
</form>
<p><a id="abort" href="/interaction/${esc(uid)}/abort">Deny</a></p>
`);
}

function errorPage(out) {
  const rows = Object.entries(out)
    .map(([key, value]) => `<p><strong>${esc(key)}</strong>: <span id="${esc(key)}">${esc(value)}</span></p>`)
    .join('\n');
  return page('Error', `<h1 id="error-title">Something went wrong</h1>\n${rows}\n`);
}

// Device flow pages (replacing the defaults, which load web fonts).
async function userCodeInputSource(ctx, form, out, err) {
  let msg;
  let kind;
  if (err && (err.userCode || err.name === 'NoCodeError')) {
    kind = 'invalid_code';
    msg = 'The code you entered is incorrect. Try again.';
  } else if (err && err.name === 'AbortedError') {
    kind = 'aborted';
    msg = 'The sign-in request was interrupted.';
  } else if (err) {
    kind = 'error';
    msg = 'There was an error processing your request.';
  }
  ctx.type = 'html';
  ctx.body = page('Device sign-in', `<h1>Device sign-in</h1>
${msg ? `<p class="error" id="error" data-error="${kind}" role="alert">${esc(msg)}</p>` : '<p>Enter the code displayed on your device.</p>'}
${form}
<button type="submit" id="continue" form="op.deviceInputForm">Continue</button>
`);
}

async function userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
  const clientName = client.clientName || client.clientId;
  ctx.type = 'html';
  ctx.body = page('Confirm device', `<h1>Confirm device</h1>
<p><strong id="client">${esc(clientName)}</strong> should be showing this code:</p>
<p><code id="user-code">${esc(userCode)}</code></p>
<p class="muted">If you did not start this, or the code does not match, abort.</p>
${form}
<button type="submit" id="continue" form="op.deviceConfirmForm">Continue</button>
<button type="submit" id="abort" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>
`);
}

async function successSource(ctx) {
  const clientName = ctx.oidc.client?.clientName || ctx.oidc.client?.clientId || '';
  ctx.type = 'html';
  ctx.body = page('Sign-in Success', `<h1 id="success">Sign-in Success</h1>
<p>Your sign-in to ${esc(clientName)} was successful. You can close this page and return to your device.</p>
`);
}

async function logoutSource(ctx, form) {
  ctx.type = 'html';
  ctx.body = page('Sign out', `<h1>Sign out from ${esc(ctx.host)}?</h1>
${form}
<button type="submit" id="logout" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" id="stay" form="op.logoutForm">No, stay signed in</button>
`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<h1 id="signed-out">Signed out</h1>\n<p>You are signed out.</p>\n');
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = errorPage(out);
}

// ---------------------------------------------------------------------------
// Interaction helpers
// ---------------------------------------------------------------------------

function requiresMfa(params) {
  const asked = String(params.acr_values || '').split(' ').filter(Boolean);
  if (asked.includes(ACR_MFA)) return true;
  let claims = params.claims;
  if (typeof claims === 'string') {
    try { claims = JSON.parse(claims); } catch { claims = undefined; }
  }
  const acr = claims?.id_token?.acr;
  if (acr && (acr.value === ACR_MFA || (Array.isArray(acr.values) && acr.values.includes(ACR_MFA)))) {
    return true;
  }
  return false;
}

async function readForm(ctx) {
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > 64 * 1024) ctx.throw(413, 'form too large');
    chunks.push(chunk);
  }
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

async function grantConsent(provider, details) {
  const { prompt, params, session } = details;
  let grant;
  if (details.grantId) {
    grant = await provider.Grant.find(details.grantId);
  }
  if (!grant) {
    grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  }
  const missing = prompt.details || {};
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  return details.grantId ? {} : { grantId };
}

async function finish(provider, ctx, result, merge) {
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: merge,
  });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

function interactionRoutes(provider) {
  const pattern = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?\/?$/;

  return async function interactions(ctx, next) {
    const match = pattern.exec(ctx.path);
    if (!match) return next();
    const [, uid, action] = match;
    ctx.set('cache-control', 'no-store');

    try {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== uid) {
        throw new errors.SessionNotFound('interaction session mismatch');
      }
      const { prompt, params } = details;
      const client = await provider.Client.find(params.client_id);

      if (ctx.method === 'GET' && !action) {
        if (prompt.name === 'login') {
          ctx.type = 'html';
          ctx.body = loginPage({ uid, client, params, login: params.login_hint || '' });
          return undefined;
        }
        if (prompt.name === 'consent') {
          if (AUTO_CONSENT) {
            const consent = await grantConsent(provider, details);
            return finish(provider, ctx, { consent }, true);
          }
          ctx.type = 'html';
          ctx.body = consentPage({ uid, client, params, details: prompt.details || {} });
          return undefined;
        }
        ctx.throw(400, `unknown prompt ${prompt.name}`);
      }

      if (ctx.method === 'POST' && action === 'login') {
        if (prompt.name !== 'login') ctx.throw(400, 'not a login prompt');
        const form = await readForm(ctx);
        const login = (form.login || '').trim();
        const otp = (form.otp || '').trim();
        const user = USERS[login];
        const again = (error) => {
          ctx.type = 'html';
          ctx.status = 200;
          ctx.body = loginPage({ uid, client, params, error, login });
        };
        if (!user || !sameSecret(form.password || '', user.password)) {
          return again('Invalid username or password.');
        }
        let mfa = false;
        if (otp) {
          if (!user.otp || !sameSecret(otp, user.otp)) return again('Invalid one-time code.');
          mfa = true;
        }
        if (!mfa && requiresMfa(params)) {
          return again('This request requires multi-factor authentication: enter your one-time code.');
        }
        const result = {
          login: {
            accountId: login,
            acr: mfa ? ACR_MFA : ACR_PWD,
            amr: mfa ? ['pwd', 'otp', 'mfa'] : ['pwd'],
            ts: Math.floor(Date.now() / 1000),
            remember: true,
          },
        };
        return finish(provider, ctx, result, false);
      }

      if (ctx.method === 'POST' && action === 'confirm') {
        if (prompt.name !== 'consent') ctx.throw(400, 'not a consent prompt');
        await readForm(ctx);
        const consent = await grantConsent(provider, details);
        return finish(provider, ctx, { consent }, true);
      }

      if (ctx.method === 'GET' && action === 'abort') {
        return finish(provider, ctx, {
          error: 'access_denied',
          error_description: 'End-User aborted interaction',
        }, false);
      }

      ctx.throw(405, 'method not allowed');
    } catch (err) {
      const status = err.status || err.statusCode || 500;
      if (status >= 500) process.stderr.write(`interaction error: ${err.stack || err}\n`);
      ctx.status = status;
      ctx.type = 'html';
      ctx.body = errorPage({
        error: err.error || (status >= 500 ? 'server_error' : 'invalid_request'),
        error_description: err.error_description || err.message,
      });
    }
    return undefined;
  };
}

// ---------------------------------------------------------------------------
// Small middlewares: request log, device interval
// ---------------------------------------------------------------------------

function requestLog(path) {
  return async function logRequest(ctx, next) {
    const started = Date.now();
    try {
      await next();
    } finally {
      const entry = {
        ts: started / 1000,
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
      };
      const body = ctx.oidc?.body;
      if (body?.grant_type) entry.grant_type = body.grant_type;
      const clientId = ctx.oidc?.entities?.Client?.clientId || body?.client_id;
      if (clientId) entry.client_id = clientId;
      // Grant ids are not credentials: they let a test prove which sign-in a revocation ended
      // when the client never kept its tokens (nothing to introspect).
      const grantId = ctx.oidc?.entities?.Grant?.jti;
      if (grantId) entry.grant_id = grantId;
      if (ctx.state?.revokedGrants) entry.revoked_grants = ctx.state.revokedGrants;
      // Written synchronously before the response goes out, so a test that got the
      // response can read the line.
      fs.appendFileSync(path, `${JSON.stringify(entry)}\n`);
    }
  };
}

function deviceInterval(provider, seconds) {
  const route = new URL(provider.urlFor('device_authorization')).pathname;
  return async function addInterval(ctx, next) {
    await next();
    if (
      ctx.method === 'POST'
      && ctx.path === route
      && ctx.status === 200
      && ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body)
    ) {
      ctx.body = { ...ctx.body, interval: seconds };
    }
  };
}

// ---------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------

async function signingKeys() {
  const generate = promisify(crypto.generateKeyPair);
  const [rsa, ec] = await Promise.all([
    generate('rsa', { modulusLength: 2048 }),
    generate('ec', { namedCurve: 'P-256' }),
  ]);
  return {
    keys: [
      { ...rsa.privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: `rs-${crypto.randomUUID()}` },
      { ...ec.privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'ES256', kid: `ec-${crypto.randomUUID()}` },
    ],
  };
}

function configuration(jwks) {
  return {
    clients,
    jwks,
    findAccount,
    acrValues: [ACR_PWD, ACR_MFA],
    responseTypes: ['code'],
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    claims: {
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
      email: ['email', 'email_verified'],
      sid: null,
    },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    clockTolerance: CLOCK_TOLERANCE,
    pkce: { required: () => true },
    rotateRefreshToken: true,
    async issueRefreshToken(ctx, client, source) {
      return client.grantTypeAllowed('refresh_token') && source.scopes.has('offline_access');
    },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeInputSource,
        userCodeConfirmSource,
        successSource,
      },
      revocation: { enabled: true },
      introspection: { enabled: true },
      userinfo: { enabled: true },
      claimsParameter: { enabled: true },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    },
    ttl: {
      AccessToken: TTL.access,
      ClientCredentials: TTL.access,
      IdToken: TTL.id,
      RefreshToken: TTL.refresh,
      DeviceCode: TTL.device,
      AuthorizationCode: TTL.authcode,
      Interaction: 3600,
      Session: Math.max(TTL.refresh, 14 * 24 * 3600),
      Grant: Math.max(TTL.refresh, 14 * 24 * 3600),
    },
    renderError,
    interactions: {
      url(ctx, interaction) {
        return `/interaction/${interaction.uid}`;
      },
    },
  };
}

async function main() {
  let handler = (req, res) => {
    res.statusCode = 503;
    res.end('starting');
  };
  const server = http.createServer((req, res) => handler(req, res));
  const [jwks] = await Promise.all([
    signingKeys(),
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(PORT, '127.0.0.1', resolve);
    }),
  ]);
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, configuration(jwks));
  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`server_error ${ctx.method} ${ctx.path}: ${err.stack || err}\n`);
  });
  provider.silent = true;
  provider.on('grant.revoked', (ctx, grantId) => {
    if (ctx?.state) (ctx.state.revokedGrants ||= []).push(grantId);
  });

  if (LOG_REQUESTS) provider.use(requestLog(LOG_REQUESTS));
  if (DEVICE_INTERVAL !== undefined) provider.use(deviceInterval(provider, DEVICE_INTERVAL));
  provider.use(interactionRoutes(provider));

  handler = provider.callback();

  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (['1', 'true', 'yes'].includes((process.env.OP_EXIT_ON_STDIN_CLOSE || '').toLowerCase())) {
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
  }

  process.stdout.write(`OP READY ${issuer}\n`);
}

main().catch((err) => {
  process.stderr.write(`OP FAILED ${err.stack || err}\n`);
  process.exit(1);
});
