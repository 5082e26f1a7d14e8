// Uploads one file through the dashboard's file input in Debian's Chromium (playwright-core) against a server whose
// preFinish hook refuses it, and reads the System panel's upload hooks line. Driven by
// src/test/java/io/sluice/hooks/HooksDashboardBrowserTest.java.
//
// Options (one JSON object as the only argument): url (the server's base URL), file (the file to upload),
// chromium (default /usr/bin/chromium), timeoutMs (default 30000).
// Events: hooks (the System panel's line), refused (state, status text, the /files requests sent), done; error
// (message) on failure. Exit status: 0 done, 1 a step failed, 2 bad options.

import { basename } from 'node:path'
import { chromium } from 'playwright-core'

function emit (event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`)
}

let options
try {
  if (process.argv.length !== 3) throw new Error('expected exactly one argument: a JSON object of options')
  options = JSON.parse(process.argv[2])
  for (const k of ['url', 'file']) {
    if (!options[k]) throw new Error(`"${k}" is required`)
  }
} catch (e) {
  emit('error', { message: e.message })
  process.exit(2)
}

const timeout = options.timeoutMs ?? 30000
const base = options.url.replace(/\/$/, '')
const browser = await chromium.launch({
  executablePath: options.chromium ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
  timeout
})
try {
  const page = await (await browser.newContext()).newPage()
  page.setDefaultTimeout(timeout)
  const problems = []
  page.on('pageerror', (e) => problems.push(String(e)))
  // Chromium logs every 4xx answer as a console error; those are the answers under test, not page problems.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text())
  })
  const requests = []
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/files/')) requests.push(r.method())
  })
  await page.goto(base + '/')
  await page.waitForFunction(() => document.getElementById('sys-hooks').textContent.includes('preFinish'))
  emit('hooks', { text: await page.locator('#sys-hooks').textContent() })
  await page.setInputFiles('#file-input', options.file)
  const name = basename(options.file)
  const row = page.locator('#uploads li', { has: page.locator('.name', { hasText: name }) })
  await row.and(page.locator('[data-state="refused"]')).waitFor()
  emit('refused', {
    state: await row.getAttribute('data-state'),
    status: await row.locator('.status').textContent(),
    requests
  })
  // After the refusal, the panel counts it (polled every 2 s).
  await page.waitForFunction(() => document.getElementById('sys-hooks').textContent.includes('1 refused'))
  emit('counted', { text: await page.locator('#sys-hooks').textContent() })
  emit('done', { problems })
} catch (e) {
  emit('error', { message: String(e?.stack ?? e) })
  process.exitCode = 1
} finally {
  await browser.close()
}
