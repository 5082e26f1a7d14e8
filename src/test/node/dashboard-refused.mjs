// Uploads one file through the dashboard's file input in Debian's Chromium (playwright-core) and reports how the
// page shows a refusal. Driven by src/test/java/io/sluice/tus/TusEarlyTypeTest.java.
//
// Options (one JSON object as the only argument): url (the server's base URL), file (the file to upload),
// chromium (default /usr/bin/chromium), timeoutMs (default 30000).
// Events: refused (state, status text, progress bar value, the PATCH requests sent), done; error (message) on
// failure. Exit status: 0 done, 1 a step failed, 2 bad options.

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
  const requests = []
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/files/')) requests.push(r.method())
  })
  await page.goto(base + '/')
  await page.setInputFiles('#file-input', options.file)
  const name = basename(options.file)
  const row = page.locator('#uploads li', { has: page.locator('.name', { hasText: name }) })
  // Refused for good: the row says why and offers Remove, never Resume.
  await row.and(page.locator('[data-state="refused"]')).waitFor()
  emit('refused', {
    state: await row.getAttribute('data-state'),
    status: await row.locator('.status').textContent(),
    bar: await row.locator('progress').evaluate((p) => p.value),
    resume: await row.locator('button.resume').isVisible(),
    remove: await row.locator('button.remove').isVisible(),
    requests
  })
  emit('done')
} catch (e) {
  emit('error', { message: String(e?.stack ?? e) })
  process.exitCode = 1
} finally {
  await browser.close()
}
