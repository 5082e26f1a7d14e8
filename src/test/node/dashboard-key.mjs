// The dashboard against a server that wants an API key, simulated in the browser: every API, health and tus
// request without the key answers 401 (a playwright route), as an API-key protected Sluice would. Driven by
// src/test/java/io/sluice/site/DashboardBrowserTest.java.
//
//   node dashboard-key.mjs '{"url":"http://127.0.0.1:8080","key":"k-123","file":"small.bin"}'
//
// Options: url, key, file (uploaded once the key is in), chromium (default /usr/bin/chromium), timeoutMs.
// Events: asked (the dialog opened), live (SSE connected with the key), uploaded, seen (what the fake auth saw:
// requests refused, requests let through with a Bearer header, event streams let through with access_token), done;
// error on failure. Exit status: 0 done, 1 a step failed, 2 bad options.

import { basename } from 'node:path'
import { chromium } from 'playwright-core'

function emit (event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

let options
try {
  options = JSON.parse(process.argv[2] ?? '')
  for (const k of ['url', 'key', 'file']) if (!options[k]) throw new Error(`"${k}" is required`)
} catch (e) {
  emit('error', { message: e.message })
  process.exit(2)
}
const timeout = options.timeoutMs ?? 30000
const base = options.url.replace(/\/$/, '')
const seen = { refused: 0, bearer: 0, streamToken: 0, wrongKey: 0, problems: [] }

const browser = await chromium.launch({
  executablePath: options.chromium ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
  timeout
})
try {
  const page = await browser.newPage()
  page.setDefaultTimeout(timeout)
  page.on('pageerror', (e) => seen.problems.push('pageerror: ' + e.message))
  const guarded = (url) => url.origin === base &&
    (url.pathname.startsWith('/api/') || url.pathname.startsWith('/health/') || url.pathname.startsWith('/files/'))
  await page.route(guarded, async (route) => {
    const req = route.request()
    const url = new URL(req.url())
    const auth = await req.headerValue('authorization')
    if (url.pathname === '/api/v1/events' && url.searchParams.get('access_token') === options.key) {
      seen.streamToken++
      return route.fallback()
    }
    if (auth === 'Bearer ' + options.key) {
      seen.bearer++
      return route.fallback()
    }
    if (auth) seen.wrongKey++
    seen.refused++
    return route.fulfill({
      status: 401,
      headers: { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer' },
      body: JSON.stringify({ error: { code: 'unauthorized', message: 'an API key is required' } })
    })
  })

  await page.goto(base + '/dashboard/')
  await page.waitForFunction(() => document.getElementById('key-dialog').open)
  emit('asked')
  // A wrong key first: refused again, so the dialog comes back saying so.
  await page.fill('#key-input', 'wrong')
  await page.click('#key-form button[type=submit]')
  await page.waitForFunction(() => document.getElementById('key-dialog').open &&
    !document.getElementById('key-error').hidden)
  await page.fill('#key-input', options.key)
  await page.click('#key-form button[type=submit]')
  await page.waitForSelector('#live.live')
  await page.waitForFunction(() => /\d/.test(document.getElementById('sys-heap').textContent))
  emit('live', { stored: await page.evaluate(() => sessionStorage.getItem('sluice.apiKey')) })

  const name = basename(options.file)
  await page.setInputFiles('#file-input', options.file)
  const row = page.locator('#uploads li', { has: page.locator('.name', { hasText: name }) })
  await row.and(page.locator('[data-state="done"]')).waitFor()
  emit('uploaded', { uploadId: await row.getAttribute('data-upload-id'), jobId: await row.getAttribute('data-job-id') })
  const jobId = await row.getAttribute('data-job-id')
  await page.locator(`#jobs tr[data-job-id="${jobId}"][data-state="succeeded"]`).waitFor()
  emit('seen', seen)
  emit('done', { problems: seen.problems })
} catch (e) {
  emit('error', { message: e.message, seen })
  process.exitCode = 1
} finally {
  await browser.close()
}
