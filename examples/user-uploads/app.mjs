// The application beside Sluice, in plain Node (>= 18, no npm package for the server itself):
//
//   node examples/user-uploads/app.mjs            # http://127.0.0.1:3000/
//
// 1. It "logs in" a user (here: whatever name the page sends, a stand-in for your own sessions) and signs a
//    short-lived HS256 JWT for them with the secret Sluice shares (auth.jwt.hmacSecret). Nobody calls Sluice to mint
//    a token; Sluice only verifies it.
// 2. It answers Sluice's pre-create hook (hooks.preCreate): a signed POST before each upload is created. Names
//    ending in .exe are refused with 403 and a message the browser shows; everything else is allowed and tagged.
// 3. It serves the page (site/) that uploads with tus-js-client straight to Sluice, holding only its token.
//
// Environment: PORT (3000), SLUICE_URL (http://127.0.0.1:8080), JWT_SECRET and HOOK_SECRET (the same values as
// auth.jwt.hmacSecret and webhooks.secret in sluice.yaml), TUS_JS (path of tus-js-client's dist/tus.min.js; by
// default found in this directory's node_modules after `npm install`).

import { createServer } from 'node:http'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))
const PORT = Number(process.env.PORT ?? 3000)
const SLUICE_URL = process.env.SLUICE_URL ?? 'http://127.0.0.1:8080'
const JWT_SECRET = process.env.JWT_SECRET ?? 'example-only-jwt-secret-change-me-0123456789'
const HOOK_SECRET = process.env.HOOK_SECRET ?? 'example-only-hook-secret-change-me'
const TUS_JS = process.env.TUS_JS ?? createRequire(import.meta.url).resolve('tus-js-client/dist/tus.min.js')

const b64url = (data) => Buffer.from(data).toString('base64url')

/** An HS256 JWT: the whole signer. Sluice checks the signature, exp, the lifetime (exp - iat) and the claims. */
export function signToken (secret, subject, claims = {}, lifetimeSeconds = 15 * 60) {
  const now = Math.floor(Date.now() / 1000)
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
  const payload = b64url(JSON.stringify({ sub: subject, iat: now, exp: now + lifetimeSeconds, sluice: claims }))
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')
  return `${header}.${payload}.${signature}`
}

/** Sluice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>, at most 5 minutes old. */
function signedBySluice (header, body) {
  const fields = Object.fromEntries((header ?? '').split(',').map((kv) => kv.split('=', 2)))
  if (!fields.t || !fields.v1 || Math.abs(Date.now() / 1000 - Number(fields.t)) > 300) return false
  const expected = createHmac('sha256', HOOK_SECRET).update(`${fields.t}.`).update(body).digest('hex')
  return expected.length === fields.v1.length && timingSafeEqual(Buffer.from(expected), Buffer.from(fields.v1))
}

/**
 * The pre-create decision: what this application accepts from its users. The call is
 * {"hook": "preCreate", "upload": {"filename", "size", "type", "metadata", "pipeline"},
 *  "caller": {"keyId", "subject"}, "client", "address"}; the answer {"allow": true, "metadata"?, "pipeline"?,
 * "filename"?} or {"allow": false, "status": 4xx, "message"}, always with HTTP 200 (anything else is a failed call).
 */
function decide (call) {
  const name = call.upload?.filename ?? ''
  if (/\.exe$/i.test(name)) {
    return { allow: false, status: 403, message: `${name}: executables are not accepted here` }
  }
  return { allow: true, metadata: { checkedBy: 'user-uploads example' } }
}

const json = (res, status, value) => res.writeHead(status, { 'content-type': 'application/json' })
  .end(JSON.stringify(value))

async function body (req) {
  const chunks = []
  for await (const c of req) chunks.push(c)
  return Buffer.concat(chunks)
}

const pages = { '/': ['index.html', 'text/html'], '/upload.js': ['upload.js', 'text/javascript'] }

createServer(async (req, res) => {
  const url = new URL(req.url, `http://${req.headers.host}`)
  try {
    if (req.method === 'POST' && url.pathname === '/token') {
      // Your real login decides who this is; the example takes the name the page sends.
      const { user } = JSON.parse((await body(req)).toString('utf8') || '{}')
      if (!/^[a-z0-9_-]{1,40}$/i.test(user ?? '')) return json(res, 400, { error: 'user: 1-40 letters or digits' })
      const token = signToken(JWT_SECRET, user, { maxFileSize: '50MiB', metadata: { uploadedBy: user } })
      return json(res, 200, { token, sluice: SLUICE_URL })
    }
    if (req.method === 'POST' && url.pathname === '/hooks/pre-create') {
      const raw = await body(req)
      if (!signedBySluice(req.headers['sluice-signature'], raw)) return json(res, 401, { error: 'bad signature' })
      const call = JSON.parse(raw.toString('utf8'))
      const decision = decide(call)
      console.log(`pre-create ${JSON.stringify(call.upload?.filename)} by ${call.caller?.subject ?? call.caller?.keyId}: `
        + (decision.allow ? 'allow' : 'refuse'))
      return json(res, 200, decision)
    }
    if (req.method === 'GET' && url.pathname === '/tus.min.js') {
      return res.writeHead(200, { 'content-type': 'text/javascript' }).end(await readFile(TUS_JS))
    }
    if (url.pathname === '/favicon.ico') return res.writeHead(204).end()
    const page = req.method === 'GET' && pages[url.pathname]
    if (page) {
      return res.writeHead(200, { 'content-type': page[1] }).end(await readFile(path.join(here, 'site', page[0])))
    }
    json(res, 404, { error: 'not found' })
  } catch (e) {
    json(res, 500, { error: String(e.message ?? e) })
  }
}).listen(PORT, '127.0.0.1', () => console.log(`user-uploads app on http://127.0.0.1:${PORT}/ (Sluice at ${SLUICE_URL})`))
